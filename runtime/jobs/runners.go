package jobs

import "time"

// runners runs a chunk's batches on goroutines that outlive them. A fresh
// goroutine per batch grew its stack again through the runtime's call
// chain (request, wait, the borrowed instance's batch) every time: 6% of
// an mlp-small job's CPU was copystack. A runner keeps its grown stack and
// waits runnerIdle for the next batch before it exits.
type runners struct {
	work chan func() // unbuffered: a send succeeds only to an idle runner
}

// runnerIdle is how long an idle runner waits for more work.
const runnerIdle = 10 * time.Second

// batchRunners serves every chunk of every job in the process; how many
// batches run at once is bounded by each chunk's slots, not here.
var batchRunners = &runners{work: make(chan func())}

// do runs f on an idle runner, or on a new one when none is idle.
func (p *runners) do(f func()) {
	select {
	case p.work <- f:
	default:
		go p.loop(f)
	}
}

func (p *runners) loop(f func()) {
	idle := time.NewTimer(runnerIdle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(runnerIdle)
		select {
		case f = <-p.work:
		case <-idle.C:
			return
		}
	}
}
