package grpc

import (
	"context"

	"google.golang.org/grpc/metadata"

	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/transport"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// Extensions lists the protocol extensions the gRPC front end speaks.
var Extensions = []string{"model_configuration", "statistics", "model_repository", "model_repository(unload_dependents)"}

// ServerLive reports true while the process serves at all.
func (s *Server) ServerLive(context.Context, *pb.ServerLiveRequest) (*pb.ServerLiveResponse, error) {
	return &pb.ServerLiveResponse{Live: true}, nil
}

// ServerReady reports the readiness /v2/health/ready reports.
func (s *Server) ServerReady(context.Context, *pb.ServerReadyRequest) (*pb.ServerReadyResponse, error) {
	return &pb.ServerReadyResponse{Ready: s.models.Readiness(s.opts.StrictReady) == nil}, nil
}

// ModelReady reports false, as Triton does, for a model that is unknown or
// not READY; only a malformed version is an error.
func (s *Server) ModelReady(_ context.Context, req *pb.ModelReadyRequest) (*pb.ModelReadyResponse, error) {
	version, err := transport.ParseVersion(req.GetVersion())
	if err != nil {
		return nil, rpcError(err)
	}
	v, err := s.models.Version(req.GetName(), version)
	return &pb.ModelReadyResponse{Ready: err == nil && v.Ready()}, nil
}

// ServerMetadata names the server, its version and its extensions.
func (s *Server) ServerMetadata(context.Context, *pb.ServerMetadataRequest) (*pb.ServerMetadataResponse, error) {
	return &pb.ServerMetadataResponse{Name: "tiffin", Version: s.opts.Version, Extensions: Extensions}, nil
}

// ModelMetadata describes a READY model version's inputs and outputs.
func (s *Server) ModelMetadata(_ context.Context, req *pb.ModelMetadataRequest) (*pb.ModelMetadataResponse, error) {
	version, err := transport.ParseVersion(req.GetVersion())
	if err != nil {
		return nil, rpcError(err)
	}
	md, err := transport.ModelMetadata(s.models, req.GetName(), version)
	return md, rpcError(err)
}

// ModelConfig returns a READY version's resolved config in Triton's shape.
func (s *Server) ModelConfig(_ context.Context, req *pb.ModelConfigRequest) (*pb.ModelConfigResponse, error) {
	version, err := transport.ParseVersion(req.GetVersion())
	if err != nil {
		return nil, rpcError(err)
	}
	cfg, err := transport.ModelConfig(s.models, req.GetName(), version)
	if err != nil {
		return nil, rpcError(err)
	}
	return &pb.ModelConfigResponse{Config: cfg}, nil
}

// ModelStatistics reports the statistics of one version, of every version
// of a model, or of every model.
func (s *Server) ModelStatistics(_ context.Context, req *pb.ModelStatisticsRequest) (*pb.ModelStatisticsResponse, error) {
	version, err := transport.ParseVersion(req.GetVersion())
	if err != nil {
		return nil, rpcError(err)
	}
	resp, err := transport.ModelStatistics(s.models, req.GetName(), version)
	return resp, rpcError(err)
}

// RepositoryIndex lists the models and versions the server knows.
func (s *Server) RepositoryIndex(_ context.Context, req *pb.RepositoryIndexRequest) (*pb.RepositoryIndexResponse, error) {
	if err := oneRepository(req.GetRepositoryName()); err != nil {
		return nil, rpcError(err)
	}
	return transport.RepositoryIndex(s.models, req.GetReady()), nil
}

// oneRepository refuses a repository_name: tiffin serves one repository,
// and a name would otherwise be ignored, answering for a repository the
// caller did not ask about. Empty means any repository, as in Triton.
func oneRepository(name string) error {
	if name == "" {
		return nil
	}
	return runtime.Errorf(runtime.KindInvalidArgument,
		"repository_name %q: this server has one model repository and takes no repository name; leave it empty", name)
}

// RepositoryModelLoad loads or reloads a model from the repository.
func (s *Server) RepositoryModelLoad(ctx context.Context, req *pb.RepositoryModelLoadRequest) (*pb.RepositoryModelLoadResponse, error) {
	if err := oneRepository(req.GetRepositoryName()); err != nil {
		return nil, rpcError(err)
	}
	err := transport.LoadModel(ctx, s.models, s.opts.Access, authorization(ctx), req.GetModelName(), len(req.GetParameters()))
	if err != nil {
		return nil, rpcError(err)
	}
	return &pb.RepositoryModelLoadResponse{}, nil
}

// RepositoryModelUnload unloads a model. The unload_dependents parameter
// is accepted; tiffin has no ensembles, so a model has no dependents.
func (s *Server) RepositoryModelUnload(ctx context.Context, req *pb.RepositoryModelUnloadRequest) (*pb.RepositoryModelUnloadResponse, error) {
	if err := oneRepository(req.GetRepositoryName()); err != nil {
		return nil, rpcError(err)
	}
	for k := range req.GetParameters() {
		if k != "unload_dependents" {
			return nil, rpcError(runtime.Errorf(runtime.KindInvalidArgument, "unknown unload parameter %q", k))
		}
	}
	if err := transport.UnloadModel(ctx, s.models, s.opts.Access, authorization(ctx), req.GetModelName()); err != nil {
		return nil, rpcError(err)
	}
	return &pb.RepositoryModelUnloadResponse{}, nil
}

// authorization is the call's "authorization" metadata, if any.
func authorization(ctx context.Context) string {
	if v := metadata.ValueFromIncomingContext(ctx, "authorization"); len(v) > 0 {
		return v[0]
	}
	return ""
}
