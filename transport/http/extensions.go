package http

import (
	"context"
	"encoding/json"

	"github.com/valyala/fasthttp"
	"google.golang.org/protobuf/proto"

	"github.com/tiffin-ml/tiffin/transport"
)

// Triton's extensions over HTTP, in the JSON shapes Triton's clients read:
//
//	GET  /v2/models/<m>[/versions/<v>]/config       model_configuration
//	GET  /v2/models[/<m>[/versions/<v>]]/stats      statistics
//	POST /v2/repository/index                       model_repository
//	POST /v2/repository/models/<m>/load | unload    model_repository
//
// The messages are the protobuf messages the gRPC front end sends, built
// once in package transport and written by transport.MarshalTritonJSON.

// The server metadata lists these extensions beside the core ones;
// perf_analyzer, for one, reads statistics only from a server that lists
// "statistics".
func init() {
	Extensions = append(Extensions, "model_configuration", "statistics", "model_repository", "model_repository(unload_dependents)")
}

// routeExtensions handles /v2/models/stats and /v2/repository/...; seg is
// the path after /v2. It reports whether it answered.
func (s *Server) routeExtensions(ctx *fasthttp.RequestCtx, seg []string, get, post bool) bool {
	switch {
	case len(seg) == 2 && seg[0] == "models" && seg[1] == "stats" && get:
		s.modelStatistics(ctx, "", 0)
	case len(seg) == 2 && seg[0] == "repository" && seg[1] == "index" && post:
		s.repositoryIndex(ctx)
	case len(seg) == 4 && seg[0] == "repository" && seg[1] == "models" && seg[3] == "load" && post:
		s.repositoryLoad(ctx, seg[2])
	case len(seg) == 4 && seg[0] == "repository" && seg[1] == "models" && seg[3] == "unload" && post:
		s.repositoryUnload(ctx, seg[2])
	case seg[0] == "systemsharedmemory" || seg[0] == "cudasharedmemory" || seg[0] == "trace":
		replyError(ctx, transport.NoExtension("/v2/"+seg[0]))
	default:
		return false
	}
	return true
}

// modelExtension handles GET /v2/models/<m>[/versions/<v>]/<what> for the
// config and stats extensions. It reports whether it answered.
func (s *Server) modelExtension(ctx *fasthttp.RequestCtx, model string, version int64, what string) bool {
	switch what {
	case "config":
		cfg, err := transport.ModelConfig(s.models, model, version)
		s.writeMessage(ctx, cfg, err)
	case "stats":
		s.modelStatistics(ctx, model, version)
	default:
		return false
	}
	return true
}

func (s *Server) modelStatistics(ctx *fasthttp.RequestCtx, model string, version int64) {
	resp, err := transport.ModelStatistics(s.models, model, version)
	if err != nil {
		replyError(ctx, err)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(statisticsJSON(s.models, resp))
}

// repositoryIndex answers a JSON array of {name, version, state, reason},
// as Triton does; the body may hold {"ready": true}.
func (s *Server) repositoryIndex(ctx *fasthttp.RequestCtx) {
	var body struct {
		Ready bool `json:"ready"`
	}
	m := s.models
	if !s.decodeBody(ctx, &body) {
		return
	}
	out := []byte{'['}
	for i, e := range transport.RepositoryIndex(m, body.Ready).GetModels() {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, transport.MarshalTritonJSON(e)...)
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(append(out, ']'))
}

type repositoryBody struct {
	Parameters map[string]any `json:"parameters"`
}

// controlBody authorizes a repository control request and reads its
// optional body; on false it has already answered.
func (s *Server) controlBody(ctx *fasthttp.RequestCtx, body *repositoryBody) bool {
	if err := s.opts.Access.AuthorizeControl(authHeader(ctx)); err != nil {
		s.refuseBody(ctx)
		replyError(ctx, err)
		return false
	}
	return s.decodeBody(ctx, body)
}

func (s *Server) repositoryLoad(ctx *fasthttp.RequestCtx, model string) {
	var body repositoryBody
	if !s.controlBody(ctx, &body) {
		return
	}
	err := transport.LoadModel(context.Background(), s.models, s.opts.Access, authHeader(ctx), model, len(body.Parameters))
	s.writeEmpty(ctx, err)
}

func (s *Server) repositoryUnload(ctx *fasthttp.RequestCtx, model string) {
	var body repositoryBody
	if !s.controlBody(ctx, &body) {
		return
	}
	for k := range body.Parameters {
		if k != "unload_dependents" {
			replyError(ctx, invalid("unknown unload parameter %q", k))
			return
		}
	}
	s.writeEmpty(ctx, transport.UnloadModel(context.Background(), s.models, s.opts.Access, authHeader(ctx), model))
}

// decodeBody reads an optional JSON body of at most controlBodyLimit bytes
// into v; it answers 413 for a larger body, 400 for one that is not JSON,
// and then reports false.
func (s *Server) decodeBody(ctx *fasthttp.RequestCtx, v any) bool {
	b, held, err := s.readBody(ctx, controlBodyLimit, "control routes take small JSON bodies", 1)
	defer s.budget.Release(held)
	if err != nil {
		replyError(ctx, err)
		return false
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, v); err != nil {
			replyError(ctx, invalid("malformed JSON body: %v", err))
			return false
		}
	}
	return true
}

func (s *Server) writeMessage(ctx *fasthttp.RequestCtx, m proto.Message, err error) {
	if err != nil {
		replyError(ctx, err)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(transport.MarshalTritonJSON(m))
}

func (s *Server) writeEmpty(ctx *fasthttp.RequestCtx, err error) {
	if err != nil {
		replyError(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
}

// authHeader is the request's Authorization header, if any.
func authHeader(ctx *fasthttp.RequestCtx) string {
	return string(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))
}
