package runtime

import (
	"errors"
	"strings"
	"testing"
)

func TestErrorfNamesItsCauseOnce(t *testing.T) {
	cause := errors.New("device lost")
	err := Errorf(KindInternal, "model m version 1: %w", cause)
	if got := err.Error(); got != "model m version 1: device lost" {
		t.Fatalf("Error() = %q, want the cause once", got)
	}
	if !errors.Is(err, cause) || KindOf(err) != KindInternal {
		t.Fatalf("%v: the cause must stay reachable and the kind kept", err)
	}
	plain := Errorf(KindNotFound, "unknown model %q", "m")
	if plain.Error() != `unknown model "m"` || errors.Unwrap(plain) != nil {
		t.Fatalf("%q", plain)
	}
}

func TestKindsAreNamed(t *testing.T) {
	for _, k := range Kinds() {
		if s := k.String(); s == "" || strings.HasPrefix(s, "Kind(") {
			t.Errorf("kind %d has no name", k)
		}
	}
}
