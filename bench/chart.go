package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Chart is a latency-throughput chart: one point per load level, p50 and
// p99 latency against throughput.
type Chart struct {
	Title, XLabel, YLabel string
	Points                []ChartPoint
}

// ChartPoint is one level: its throughput and latencies (ms).
type ChartPoint struct {
	Label    string
	X        float64
	P50, P99 float64
}

// The chart's geometry, in SVG user units.
const (
	svgW, svgH             = 760, 460
	padL, padR, padT, padB = 80, 40, 50, 70
	plotW, plotH           = svgW - padL - padR, svgH - padT - padB
)

var seriesColour = map[string]string{"p50": "#1f77b4", "p99": "#d62728"}

// WriteSVG draws c as a standalone SVG document: axes from zero with
// ticks and labels, a line and markers for each of p50 and p99, each
// p99 marker labelled with its level.
func WriteSVG(w io.Writer, c Chart) error {
	xMax, xStep := niceScale(maxOf(c.Points, func(p ChartPoint) float64 { return p.X }))
	yMax, yStep := niceScale(maxOf(c.Points, func(p ChartPoint) float64 { return max(p.P50, p.P99) }))
	sx := func(v float64) float64 { return padL + v/xMax*plotW }
	sy := func(v float64) float64 { return padT + plotH - v/yMax*plotH }
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgW, svgH)
	text(&b, svgW/2, 25, "middle", 15, c.Title)
	axes(&b, xMax, xStep, yMax, yStep, sx, sy)
	text(&b, padL+plotW/2, svgH-20, "middle", 13, c.XLabel)
	fmt.Fprintf(&b, `<text x="20" y="%d" text-anchor="middle" font-size="13" transform="rotate(-90 20 %d)">%s</text>`+"\n",
		padT+plotH/2, padT+plotH/2, esc(c.YLabel))
	for _, s := range []string{"p50", "p99"} {
		series(&b, c.Points, s, sx, sy)
	}
	legend(&b)
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func axes(b *bytes.Buffer, xMax, xStep, yMax, yStep float64, sx, sy func(float64) float64) {
	for i := 0.0; i*xStep <= xMax*1.0001; i++ {
		v := i * xStep
		x := sx(v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e0e0e0"/>`+"\n", x, padT, x, padT+plotH)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>`+"\n", x, padT+plotH, x, padT+plotH+5)
		text(b, x, padT+plotH+20, "middle", 12, tickLabel(v))
	}
	for i := 0.0; i*yStep <= yMax*1.0001; i++ {
		v := i * yStep
		y := sy(v)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e0e0e0"/>`+"\n", padL, y, padL+plotW, y)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black"/>`+"\n", padL-5, y, padL, y)
		text(b, padL-8, y+4, "end", 12, tickLabel(v))
	}
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", padL, padT+plotH, padL+plotW, padT+plotH)
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", padL, padT, padL, padT+plotH)
}

func series(b *bytes.Buffer, pts []ChartPoint, name string, sx, sy func(float64) float64) {
	y := func(p ChartPoint) float64 { return map[string]float64{"p50": p.P50, "p99": p.P99}[name] }
	var path []string
	for _, p := range pts {
		path = append(path, fmt.Sprintf("%.1f,%.1f", sx(p.X), sy(y(p))))
	}
	fmt.Fprintf(b, `<polyline class="%s" points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n",
		name, strings.Join(path, " "), seriesColour[name])
	for _, p := range pts {
		fmt.Fprintf(b, `<circle class="%s" cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s %s: %s, %s ms</title></circle>`+"\n",
			name, sx(p.X), sy(y(p)), seriesColour[name], esc(p.Label), name, tickLabel(p.X), strconv.FormatFloat(y(p), 'g', 4, 64))
		if name == "p99" {
			text(b, sx(p.X)+6, sy(y(p))-6, "start", 10, p.Label)
		}
	}
}

func legend(b *bytes.Buffer) {
	for i, s := range []string{"p50", "p99"} {
		x := float64(padL + 15 + 70*i)
		fmt.Fprintf(b, `<line x1="%.0f" y1="%d" x2="%.0f" y2="%d" stroke="%s" stroke-width="2"/>`+"\n",
			x, padT+12, x+20, padT+12, seriesColour[s])
		text(b, x+25, padT+16, "start", 12, s)
	}
}

func text(b *bytes.Buffer, x, y float64, anchor string, size int, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d">%s</text>`+"\n", x, y, anchor, size, esc(s))
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails a write
	return b.String()
}

func maxOf(pts []ChartPoint, f func(ChartPoint) float64) float64 {
	m := 0.0
	for _, p := range pts {
		if v := f(p); v > m && !math.IsInf(v, 0) {
			m = v
		}
	}
	return m
}

// niceScale returns an axis end at or above v and a tick step (1, 2 or 5
// times a power of ten): the finest step giving at most six intervals.
func niceScale(v float64) (end, step float64) {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1, 0.2
	}
	base := math.Pow(10, math.Floor(math.Log10(v))-1)
	for _, m := range []float64{1, 2, 5, 10, 20, 50} {
		if step = base * m; v/step <= 6 {
			break
		}
	}
	return math.Ceil(v/step-1e-9) * step, step
}

// tickLabel writes a value compactly, to six significant digits: 1500
// as 1.5k, 0.25 as 0.25.
func tickLabel(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 6, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 6, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
