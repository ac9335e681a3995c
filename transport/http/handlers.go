package http

import (
	"encoding/json"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
)

// Extensions lists the protocol extensions this front end speaks.
var Extensions = []string{"binary_tensor_data"}

func (s *Server) serverMetadata(ctx *fasthttp.RequestCtx) {
	md := map[string]any{"name": "tiffin", "version": s.opts.Version, "extensions": Extensions}
	if s.opts.Devices != nil {
		md["devices"] = s.opts.Devices
	}
	writeJSON(ctx, md)
}

func (s *Server) serverReady(ctx *fasthttp.RequestCtx) {
	if !s.models.Ready(s.opts.StrictReady) {
		replyError(ctx, runtime.Errorf(runtime.KindUnavailable, "server is not ready"))
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
}

func (s *Server) modelReady(ctx *fasthttp.RequestCtx, model string, version int64) {
	v, err := s.models.Version(model, version)
	if err != nil {
		replyError(ctx, err)
		return
	}
	if st := v.Status(); st.State != runtime.StateReady {
		replyError(ctx, runtime.Errorf(runtime.KindUnavailable, "model %s version %d is %s: %s", model, v.Version, st.State, st.Reason))
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
}

type tensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

type modelMetadata struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions"`
	Platform string           `json:"platform"`
	Inputs   []tensorMetadata `json:"inputs"`
	Outputs  []tensorMetadata `json:"outputs"`
}

func (s *Server) modelMetadata(ctx *fasthttp.RequestCtx, model string, version int64) {
	v, err := s.models.Version(model, version)
	if err != nil {
		replyError(ctx, err)
		return
	}
	if st := v.Status(); st.State != runtime.StateReady {
		replyError(ctx, runtime.Errorf(runtime.KindUnavailable, "model %s version %d is %s: %s", model, v.Version, st.State, st.Reason))
		return
	}
	md := modelMetadata{Name: model, Platform: platform(v.Backend),
		Inputs: specsJSON(v.Sig.Inputs), Outputs: specsJSON(v.Sig.Outputs)}
	if version > 0 {
		md.Versions = []string{strconv.FormatInt(version, 10)}
	} else if all, err := s.models.Versions(model); err == nil {
		for _, n := range all {
			md.Versions = append(md.Versions, strconv.FormatInt(n, 10))
		}
	}
	writeJSON(ctx, md)
}

// platform names the backend the way Triton's clients expect.
func platform(backend string) string {
	if backend == "onnxruntime" {
		return "onnxruntime_onnx"
	}
	return backend
}

func specsJSON(specs []backends.TensorSpec) []tensorMetadata {
	out := make([]tensorMetadata, len(specs))
	for i, s := range specs {
		out[i] = tensorMetadata{Name: s.Name, Datatype: s.DataType.String(), Shape: s.Shape}
	}
	return out
}

func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		replyError(ctx, runtime.Errorf(runtime.KindInternal, "encode response: %v", err))
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
