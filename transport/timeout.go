package transport

import (
	"math"
	"time"
)

// TimeoutMicros is a request's "timeout" parameter, in microseconds as
// Triton's clients send it, as a duration. A value past what a duration
// holds (about 292 years) is the longest one, never a wrapped-around tiny
// one.
func TimeoutMicros(us uint64) time.Duration {
	return time.Duration(min(us, uint64(math.MaxInt64/int64(time.Microsecond)))) * time.Microsecond
}
