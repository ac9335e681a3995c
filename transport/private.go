package transport

import (
	"regexp"
	"strings"
)

// absPath finds absolute filesystem paths in a message: a slash that
// starts a word (not the second slash of a URL) and what follows up to a
// space, a quote or punctuation that ends a clause.
var absPath = regexp.MustCompile(`(^|[\s"'(=\[])(/[^/\s"'),\]][^\s"'),\]]*)`)

// Public is the message as a client may see it: filesystem paths are cut
// to their last few elements ("…/mlp-small/1/model.onnx"), so errors still
// name the model's file without showing where the server keeps it. The
// server's log keeps the whole path. The API's own paths (/v2/..., /metrics)
// stay as they are.
func Public(msg string) string {
	if !strings.Contains(msg, "/") {
		return msg
	}
	return absPath.ReplaceAllStringFunc(msg, func(m string) string {
		i := strings.IndexByte(m, '/')
		lead, path := m[:i], m[i:]
		if path == "/v2" || strings.HasPrefix(path, "/v2/") || path == "/metrics" {
			return m
		}
		parts := strings.Split(strings.Trim(path, "/"), "/")
		keep := min(3, max(1, len(parts)-2))
		return lead + "…/" + strings.Join(parts[len(parts)-keep:], "/")
	})
}
