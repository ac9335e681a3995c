package transporttest

import (
	"sync"
	"sync/atomic"
	"testing"
)

// Clients runs b.N calls spread over len(calls) goroutines, goroutine i
// making its share with calls[i], and reports allocations. Only the calls
// are timed; the first error fails the benchmark.
func Clients(b *testing.B, calls []func() error) {
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	errs := make(chan error, len(calls))
	b.ReportAllocs()
	b.ResetTimer()
	for _, call := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if err := call(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
