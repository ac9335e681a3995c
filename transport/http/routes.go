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
	if s.draining.Load() {
		ctx.SetConnectionClose() // Drain: the client's next request goes elsewhere
	}
	if twoFramings(&ctx.Request.Header) {
		ctx.SetConnectionClose() // what follows on the connection is not to be trusted
		replyError(ctx, errTwoFramings)
		return
	}
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
	if allow := allowedMethods(seg); allow != "" { // a route, asked for with another method
		ctx.Response.Header.Set(fasthttp.HeaderAllow, allow)
		replyError(ctx, runtime.Errorf(runtime.KindMethodNotAllowed, "%s %s: this route takes %s", ctx.Method(), path, allow))
		return
	}
	replyError(ctx, runtime.Errorf(runtime.KindNotFound, "no route for %s %s", ctx.Method(), path))
}

// allowedMethods is what the route at seg (a split path) takes, for the
// 405 of a request that asked for it with another method; "" when seg is
// no route.
func allowedMethods(seg []string) string {
	const get, post = "GET, HEAD", "POST"
	if len(seg) == 0 || seg[0] != "v2" {
		return ""
	}
	rest := seg[1:]
	switch {
	case len(rest) == 0,
		len(rest) == 2 && rest[0] == "health" && (rest[1] == "live" || rest[1] == "ready"),
		len(rest) == 2 && rest[0] == "models" && rest[1] == "stats":
		return get
	case len(rest) == 2 && rest[0] == "repository" && rest[1] == "index",
		len(rest) == 4 && rest[0] == "repository" && rest[1] == "models" && (rest[3] == "load" || rest[3] == "unload"):
		return post
	case len(rest) >= 1 && rest[0] == "jobs":
		switch {
		case len(rest) == 1:
			return "GET, HEAD, POST"
		case len(rest) == 2:
			return "GET, HEAD, DELETE"
		case len(rest) == 3 && rest[2] == "results":
			return get
		}
	case len(rest) >= 2 && rest[0] == "models":
		model := rest[2:]
		if len(model) >= 2 && model[0] == "versions" {
			model = model[2:]
		}
		switch {
		case len(model) == 0, len(model) == 1 && (model[0] == "ready" || model[0] == "config" || model[0] == "stats"):
			return get
		case len(model) == 1 && model[0] == "infer":
			return post
		}
	}
	return ""
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
