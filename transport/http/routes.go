package http

import (
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/transport"
)

// route dispatches by path. The V2 paths are few and fixed, so a switch on
// the split path reads better than a router table.
func (s *Server) route(ctx *fasthttp.RequestCtx) {
	path, kept := s.paths.get(ctx.Path())
	var buf [8]string
	seg := splitPath(path, buf[:0])
	get, post := ctx.IsGet() || ctx.IsHead(), ctx.IsPost()
	if path == "/metrics" && get && s.metrics != nil {
		s.metrics(ctx)
		return
	}
	switch {
	case len(seg) == 0 || seg[0] != "v2":
	case len(seg) == 1 && get:
		s.serverMetadata(ctx)
		return
	case len(seg) == 3 && seg[1] == "health" && seg[2] == "live" && get:
		replyHealth(ctx, liveBody)
		return
	case len(seg) == 3 && seg[1] == "health" && seg[2] == "ready" && get:
		s.serverReady(ctx)
		return
	case len(seg) >= 3 && s.routeExtensions(ctx, seg[1:], get, post):
		return
	case len(seg) == 2 && seg[1] == "logging":
		replyError(ctx, transport.NoExtension("/v2/logging"))
		return
	case len(seg) >= 2 && seg[1] == "jobs" && s.routeJobs(ctx, seg[2:]):
		return
	case len(seg) >= 3 && seg[1] == "models":
		if s.routeModel(ctx, seg[2], seg[3:], get, post) {
			if !kept && ctx.Response.StatusCode() == fasthttp.StatusOK {
				s.paths.keep(path) // it names a model that is there
			}
			return
		}
	}
	replyError(ctx, runtime.Errorf(runtime.KindNotFound, "no route for %s %s", ctx.Method(), path))
}

// splitPath appends path's segments, without the slashes around it, to
// seg: a V2 path's few fit the caller's array, so routing allocates none.
func splitPath(path string, seg []string) []string {
	for s := range strings.SplitSeq(strings.Trim(path, "/"), "/") {
		seg = append(seg, s)
	}
	return seg
}

// routeModel handles /v2/models/<m>[/versions/<v>][/ready|/infer].
func (s *Server) routeModel(ctx *fasthttp.RequestCtx, model string, rest []string, get, post bool) bool {
	var version int64
	if len(rest) >= 2 && rest[0] == "versions" {
		v, err := parseVersion(rest[1])
		if err != nil {
			replyError(ctx, err)
			return true
		}
		version, rest = v, rest[2:]
	}
	switch {
	case len(rest) == 0 && get:
		s.modelMetadata(ctx, model, version)
	case len(rest) == 1 && rest[0] == "ready" && get:
		s.modelReady(ctx, model, version)
	case len(rest) == 1 && rest[0] == "infer" && post:
		s.infer(ctx, model, version)
	case len(rest) == 1 && get && s.modelExtension(ctx, model, version, rest[0]):
	default:
		return false
	}
	return true
}
