package http

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/tiffin-ml/tiffin/batcher"
	"github.com/tiffin-ml/tiffin/transport"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

// batcherView is tiffin's own addition to a model's statistics: what its
// batcher did, under the key "batcher" (Triton's clients ignore it).
type batcherView struct {
	Submitted   uint64                    `json:"submitted"`
	Rejected    uint64                    `json:"rejected"`
	Dropped     uint64                    `json:"dropped"`
	Batches     uint64                    `json:"batches"`
	Reasons     map[batcher.Reason]uint64 `json:"dispatch_reasons"`
	Size        histogramView             `json:"batch_size_items"`
	QueueDelay  histogramView             `json:"queue_delay_seconds"`
	Compute     histogramView             `json:"compute_seconds"`
	QueueDepth  int                       `json:"queue_depth"`
	ArrivalRate float64                   `json:"arrival_rate_items_per_second"`
	Groups      []groupView               `json:"device_groups"`
}

type histogramView struct {
	Bounds []float64 `json:"bounds"`
	Counts []uint64  `json:"counts"` // per bucket; the last is above the last bound
	Count  uint64    `json:"count"`
	Sum    float64   `json:"sum"`
}

type groupView struct {
	Name        string `json:"name"`
	Policy      string `json:"policy"`
	WindowUs    int64  `json:"window_us"`
	TargetItems int    `json:"target_items"`
	// The adaptive policy's cost model: the fit's a and b only while it
	// is trusted (absent otherwise, never zeros standing for unknown),
	// and why not when it is not.
	CostFit          string   `json:"cost_fit,omitempty"`
	CostFixedUs      *float64 `json:"cost_fixed_us,omitempty"`
	CostPerItemUs    *float64 `json:"cost_per_item_us,omitempty"`
	TypicalComputeUs *float64 `json:"typical_compute_us,omitempty"`
}

func newBatcherView(s batcher.Stats) batcherView {
	h := func(x batcher.Histogram) histogramView {
		return histogramView{Bounds: x.Bounds, Counts: x.Counts, Count: x.Count, Sum: x.Sum}
	}
	v := batcherView{Submitted: s.Submitted, Rejected: s.Rejected, Dropped: s.Dropped, Batches: s.Batches,
		Reasons: s.Reasons, Size: h(s.Size), QueueDelay: h(s.QueueDelay), Compute: h(s.Compute),
		QueueDepth: s.QueueDepth, ArrivalRate: s.ArrivalRate}
	for _, g := range s.Groups {
		gv := groupView{Name: g.Name, Policy: g.Policy, WindowUs: g.Window.Microseconds(),
			TargetItems: g.Target, CostFit: g.CostFit}
		if g.CostFit == "trusted" {
			gv.CostFixedUs, gv.CostPerItemUs = microseconds(g.CostFixed), microseconds(g.CostPerItem)
		}
		if g.TypicalCompute > 0 {
			gv.TypicalComputeUs = microseconds(g.TypicalCompute)
		}
		v.Groups = append(v.Groups, gv)
	}
	return v
}

// statisticsJSON writes Triton's statistics JSON with each model entry
// carrying its batcher view.
func statisticsJSON(m transport.Models, resp *pb.ModelStatisticsResponse) []byte {
	out := []byte(`{"model_stats":[`)
	for i, e := range resp.GetModelStats() {
		if i > 0 {
			out = append(out, ',')
		}
		entry := transport.MarshalTritonJSON(e)
		version, _ := strconv.ParseInt(e.GetVersion(), 10, 64)
		v, err := m.Version(e.GetName(), version)
		if err != nil || len(entry) < 2 {
			out = append(out, entry...)
			continue
		}
		view, _ := json.Marshal(newBatcherView(v.BatchStats()))
		out = append(out, entry[:len(entry)-1]...)
		if len(entry) > 2 {
			out = append(out, ',')
		}
		out = append(out, `"batcher":`...)
		out = append(out, view...)
		out = append(out, '}')
	}
	return append(out, "]}"...)
}

func microseconds(d time.Duration) *float64 {
	us := float64(d.Nanoseconds()) / 1e3
	return &us
}
