package bench

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// svgElements parses an SVG document, failing on malformed XML, and counts
// its elements by name and class.
func svgElements(t *testing.T, doc string) map[string]int {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(doc))
	counts := map[string]int{}
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if depth == 0 && e.Name.Local != "svg" {
				t.Fatalf("root element %q, want svg", e.Name.Local)
			}
			depth++
			counts[e.Name.Local]++
			for _, a := range e.Attr {
				if a.Name.Local == "class" {
					counts[e.Name.Local+"."+a.Value]++
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	return counts
}

func TestBenchSVG(t *testing.T) {
	c := Chart{Title: `mlp-small <over> "http" & more`, XLabel: "throughput (requests/s)", YLabel: "latency (ms)",
		Points: []ChartPoint{
			{Label: "c=1", X: 2100, P50: 0.4, P99: 0.9},
			{Label: "c=8", X: 9800, P50: 0.8, P99: 2.5},
			{Label: "c=32", X: 14500, P50: 2.1, P99: 7.9},
		}}
	var b strings.Builder
	if err := WriteSVG(&b, c); err != nil {
		t.Fatal(err)
	}
	n := svgElements(t, b.String())
	for _, s := range []string{"circle.p50", "circle.p99"} {
		if n[s] != len(c.Points) {
			t.Errorf("%d %s markers, want one per level (%d)", n[s], s, len(c.Points))
		}
	}
	if n["polyline.p50"] != 1 || n["polyline.p99"] != 1 {
		t.Errorf("want one line per series, got %v", n)
	}
	if n["text"] < 10 || n["line"] < 10 {
		t.Errorf("want axes with ticks and labels, got %d text and %d line elements", n["text"], n["line"])
	}
	for _, want := range []string{"throughput (requests/s)", "latency (ms)", "c=32", "&lt;over&gt;"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("chart lacks %q", want)
		}
	}
}

// A single point, or all-zero latencies, must still draw sane axes.
func TestBenchSVGDegenerate(t *testing.T) {
	for _, pts := range [][]ChartPoint{{{Label: "r=5", X: 5, P50: 0, P99: 0}}, {{Label: "c=1"}}} {
		var b strings.Builder
		if err := WriteSVG(&b, Chart{Points: pts}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "NaN") || strings.Contains(b.String(), "Inf") {
			t.Errorf("chart of %+v has NaN or Inf coordinates", pts)
		}
		if n := svgElements(t, b.String()); n["circle.p50"] != 1 {
			t.Errorf("want one p50 marker, got %v", n)
		}
	}
}

func TestBenchNiceScale(t *testing.T) {
	for _, c := range []struct{ v, end, step float64 }{
		{14500, 15000, 5000}, {0.9, 1, 0.2}, {7.9, 8, 2}, {100, 100, 20}, {3, 3, 0.5}, {0.05, 0.05, 0.01},
	} {
		end, step := niceScale(c.v)
		if end != c.end || step != c.step {
			t.Errorf("niceScale(%g) = %g, %g; want %g, %g", c.v, end, step, c.end, c.step)
		}
	}
}
