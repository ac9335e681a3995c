package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The subset of Kubernetes and KServe objects the KServe test reads from
// deploy/kserve. Fields left out here are ignored, not checked.

type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string            `yaml:"name"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Spec struct {
		// ClusterServingRuntime
		Annotations           map[string]string `yaml:"annotations"`
		SupportedModelFormats []struct {
			Name string `yaml:"name"`
		} `yaml:"supportedModelFormats"`
		ProtocolVersions []string       `yaml:"protocolVersions"`
		Containers       []k8sContainer `yaml:"containers"`
		// InferenceService
		Predictor struct {
			Model struct {
				ModelFormat struct {
					Name string `yaml:"name"`
				} `yaml:"modelFormat"`
				ProtocolVersion string    `yaml:"protocolVersion"`
				Runtime         string    `yaml:"runtime"`
				Ports           []k8sPort `yaml:"ports"`
			} `yaml:"model"`
			AutoScaling struct {
				Metrics []struct {
					External struct {
						Metric struct {
							Backend string `yaml:"backend"`
							Query   string `yaml:"query"`
						} `yaml:"metric"`
					} `yaml:"external"`
				} `yaml:"metrics"`
			} `yaml:"autoScaling"`
		} `yaml:"predictor"`
	} `yaml:"spec"`
}

type k8sContainer struct {
	Name      string    `yaml:"name"`
	Command   []string  `yaml:"command"`
	Args      []string  `yaml:"args"`
	Env       []k8sEnv  `yaml:"env"`
	Ports     []k8sPort `yaml:"ports"`
	Resources struct {
		Limits map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	StartupProbe   *k8sProbe `yaml:"startupProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
}

type k8sPort struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
}

type k8sEnv struct {
	Name      string  `yaml:"name"`
	Value     *string `yaml:"value"`
	ValueFrom *struct {
		ResourceFieldRef *struct {
			ContainerName string `yaml:"containerName"`
			Resource      string `yaml:"resource"`
			Divisor       string `yaml:"divisor"`
		} `yaml:"resourceFieldRef"`
	} `yaml:"valueFrom"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port int    `yaml:"port"`
	} `yaml:"httpGet"`
}

// readObjects decodes every YAML document of a manifest file.
func readObjects(t *testing.T, path string) []k8sObject {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var objs []k8sObject
	dec := yaml.NewDecoder(f)
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", path, len(objs)+1, err)
		}
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			t.Fatalf("%s: document %d has no apiVersion, kind or name", path, len(objs)+1)
		}
		objs = append(objs, o)
	}
}

// containerEnv resolves a container's env as the kubelet would: literal
// values, and resourceFieldRef from the container's own limits. Anything
// else fails the test, so the manifest stays one the test can run.
func containerEnv(t *testing.T, c k8sContainer) []string {
	t.Helper()
	var env []string
	for _, e := range c.Env {
		switch {
		case e.Value != nil:
			env = append(env, e.Name+"="+*e.Value)
		case e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil:
			ref := e.ValueFrom.ResourceFieldRef
			if ref.ContainerName != "" && ref.ContainerName != c.Name {
				t.Fatalf("env %s: resourceFieldRef of another container, %q", e.Name, ref.ContainerName)
			}
			res, ok := strings.CutPrefix(ref.Resource, "limits.")
			if !ok || c.Resources.Limits[res] == "" {
				t.Fatalf("env %s: resourceFieldRef %q: the container sets no such limit", e.Name, ref.Resource)
			}
			v, err := resourceValue(c.Resources.Limits[res], ref.Divisor)
			if err != nil {
				t.Fatalf("env %s: %v", e.Name, err)
			}
			env = append(env, fmt.Sprintf("%s=%d", e.Name, v))
		default:
			t.Fatalf("env %s: neither a value nor a resourceFieldRef: the KServe test cannot resolve it", e.Name)
		}
	}
	return env
}

// resourceValue is a Kubernetes quantity divided by the divisor (default
// 1), rounded up, as the downward API gives it.
func resourceValue(quantity, divisor string) (int64, error) {
	q, err := parseQuantity(quantity)
	if err != nil {
		return 0, err
	}
	d := big.NewRat(1, 1)
	if divisor != "" {
		if d, err = parseQuantity(divisor); err != nil {
			return 0, err
		}
	}
	f, _ := new(big.Rat).Quo(q, d).Float64()
	return int64(math.Ceil(f)), nil
}

// parseQuantity reads the quantity forms the manifests use: a decimal
// number with an optional binary (Ki..Ei) or decimal (m, k..E) suffix.
func parseQuantity(s string) (*big.Rat, error) {
	suffixes := []struct {
		s    string
		mult *big.Rat
	}{
		{"Ki", big.NewRat(1<<10, 1)}, {"Mi", big.NewRat(1<<20, 1)}, {"Gi", big.NewRat(1<<30, 1)},
		{"Ti", big.NewRat(1<<40, 1)}, {"Pi", big.NewRat(1<<50, 1)}, {"Ei", big.NewRat(1<<60, 1)},
		{"m", big.NewRat(1, 1000)}, {"k", big.NewRat(1e3, 1)}, {"M", big.NewRat(1e6, 1)},
		{"G", big.NewRat(1e9, 1)}, {"T", big.NewRat(1e12, 1)}, {"P", big.NewRat(1e15, 1)}, {"E", big.NewRat(1e18, 1)},
	}
	mult, num := big.NewRat(1, 1), s
	for _, x := range suffixes {
		if n, ok := strings.CutSuffix(s, x.s); ok {
			mult, num = x.mult, n
			break
		}
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok || r.Sign() < 0 {
		return nil, fmt.Errorf("quantity %q is not one this test reads", s)
	}
	return r.Mul(r, mult), nil
}

func TestParseQuantity(t *testing.T) {
	for q, want := range map[string]int64{"4Gi": 4 << 30, "512Mi": 512 << 20, "2G": 2e9, "1500m": 2, "100": 100} {
		if got, err := resourceValue(q, ""); err != nil || got != want {
			t.Errorf("%s: %d, %v; want %d", q, got, err, want)
		}
	}
	if got, _ := resourceValue("4Gi", "1Mi"); got != 4096 {
		t.Errorf("4Gi in Mi: %d", got)
	}
	if _, err := resourceValue("lots", ""); err == nil || !strings.Contains(err.Error(), `"lots"`) {
		t.Errorf("a bad quantity: %v", err)
	}
}
