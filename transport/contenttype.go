package transport

import (
	"encoding/base64"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime"
)

// ContentTypeParam is the input parameter by which MLServer's clients name
// the codec of a tensor's data ("np", "str", "base64", ...).
const ContentTypeParam = "content_type"

// DecodeContentType applies an input's content_type. "base64" BYTES
// elements are decoded to the bytes they encode, as MLServer's codec does,
// so the model sees those rather than their text; the other codecs
// describe data that is already a plain tensor and change nothing.
func DecodeContentType(t *backends.Tensor, contentType string) error {
	if contentType != "base64" {
		return nil
	}
	if t.DataType != backends.Bytes {
		return runtime.Errorf(runtime.KindInvalidArgument, "input %q: content_type base64 is for BYTES inputs, not %s", t.Name, t.DataType)
	}
	total := 0
	for _, s := range t.Strings {
		total += base64.StdEncoding.DecodedLen(len(s))
	}
	buf := make([]byte, total) // one buffer for all: at most 3/4 of the text
	for i, s := range t.Strings {
		n, err := base64.StdEncoding.Decode(buf, s)
		if err != nil {
			return runtime.Errorf(runtime.KindInvalidArgument, "input %q: element %d is not base64 (content_type base64): %v", t.Name, i, err)
		}
		t.Strings[i], buf = buf[:n:n], buf[n:]
	}
	return nil
}
