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
// to the model's own part ("…/mlp-small/1/model.onnx", "…/cnn/config.yaml"),
// so errors still name the model's file without showing where the server
// keeps it, nor the repository folder's name. The
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
		n := len(parts)
		keep := min(2, max(1, n-2)) // a model's own file: "cnn/config.yaml"
		if n >= 4 && isVersion(parts[n-2]) && strings.Contains(parts[n-1], ".") {
			keep = 3 // a file in a version folder: "cnn/1/model.onnx"
		}
		return lead + "…/" + strings.Join(parts[n-keep:], "/")
	})
}

// isVersion reports whether a path element is a model version folder's
// name: decimal digits.
func isVersion(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
