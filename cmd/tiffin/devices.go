package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/gpu"
	"github.com/tiffin-ml/tiffin/runtime"
	"github.com/tiffin-ml/tiffin/runtime/config"
	"github.com/tiffin-ml/tiffin/runtime/topology"
)

// devicesReport is what `tiffin devices --json` prints.
type devicesReport struct {
	CPU       cpuReport         `json:"cpu"`
	GPUs      []gpuReport       `json:"gpus"`
	Driver    string            `json:"driver,omitempty"`
	CUDA      string            `json:"cuda,omitempty"`
	Placement []placementReport `json:"placement,omitempty"`
	Notes     []string          `json:"notes,omitempty"`
}

type cpuReport struct {
	Online  int     `json:"online"`
	Allowed string  `json:"allowed"`
	Cores   [][]int `json:"cores"`
	Sockets int     `json:"sockets"`
	NUMA    int     `json:"numa_nodes"`
	Quota   float64 `json:"quota"`
	Usable  int     `json:"usable"`
}

type gpuReport struct {
	Index         int    `json:"index"`
	PhysicalIndex int    `json:"physical_index"`
	UUID          string `json:"uuid"`
	Name          string `json:"name"`
	MemoryTotal   uint64 `json:"memory_total_bytes"`
	MemoryFree    uint64 `json:"memory_free_bytes"`
	Compute       string `json:"compute_capability"`
	MIG           bool   `json:"mig_enabled"`
}

func gpuRows(devs []gpu.Device) []gpuReport {
	rows := make([]gpuReport, len(devs))
	for i, g := range devs {
		rows[i] = gpuReport{Index: g.Index, PhysicalIndex: g.PhysicalIndex, UUID: g.UUID, Name: g.Name,
			MemoryTotal: g.MemoryTotal, MemoryFree: g.MemoryFree,
			Compute: fmt.Sprintf("%d.%d", g.ComputeMajor, g.ComputeMinor), MIG: g.MIGEnabled}
	}
	return rows
}

type placementReport struct {
	Model  string `json:"model"`
	Group  int    `json:"group"`
	Kind   string `json:"kind"`
	GPU    *int   `json:"gpu,omitempty"`
	Cores  string `json:"cores"`
	Thread int    `json:"threads"`
}

func devicesCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: tiffin devices [--json] [--model-repository DIR] [--devices FILE]\n\n"+
			"Prints the CPU and GPU inventory this host gives tiffin and, with a repository, the placement its models would get.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print JSON with cpu and gpus sections")
	repo := fs.String("model-repository", "", "also print the placement this repository would get")
	var cfg config.Server
	fs.StringVar(&cfg.DevicesFile, "devices", os.Getenv(EnvPrefix+"DEVICES"), "host device `FILE` the placement applies, as serve --devices does (default: $TIFFIN_DEVICES)")
	if err := parseFlags(fs, args); err != nil {
		return parseExit(err)
	}
	dev, err := runtime.DiscoverDevices(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Fprintf(stderr, "tiffin devices: %v\n", err)
		return 1
	}
	rep := newDevicesReport(dev)
	// The device file is read even without a repository, so that
	// `tiffin devices --devices FILE` checks it rather than ignoring it.
	override, err := deviceOverride(cfg, dev)
	if err != nil {
		fmt.Fprintf(stderr, "tiffin devices: %v\n", err)
		return 1
	}
	if *repo != "" {
		plans, notes, err := runtime.PlanRepository(*repo, dev.Inventory(), override)
		if err != nil {
			fmt.Fprintf(stderr, "tiffin devices: %v\n", err)
			return 1
		}
		rep.Placement, rep.Notes = placementRows(plans), notes
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return 1
		}
		return 0
	}
	printDevices(stdout, rep)
	return 0
}

func newDevicesReport(dev *runtime.Devices) devicesReport {
	t := dev.CPU
	return devicesReport{
		CPU: cpuReport{Online: len(t.CPUs), Allowed: topology.FormatCPUList(t.Allowed), Cores: t.Cores(),
			Sockets: t.Sockets(), NUMA: len(t.NUMANodes()), Quota: t.Quota, Usable: t.Usable()},
		GPUs: gpuRows(dev.GPU.Devices), Driver: dev.GPU.Driver, CUDA: dev.GPU.CUDAVersion,
	}
}

func placementRows(plans []runtime.InstancePlan) []placementReport {
	rows := make([]placementReport, len(plans))
	for i, p := range plans {
		rows[i] = placementReport{Model: p.Model, Group: p.Group, Kind: p.Device.Kind.String(),
			Cores: topology.FormatCPUList(p.Device.Cores), Thread: len(p.Device.Cores)}
		if p.Device.Kind == backends.GPU {
			g := p.Device.GPU
			rows[i].GPU = &g
		}
	}
	return rows
}

func printDevices(w io.Writer, rep devicesReport) {
	c := rep.CPU
	fmt.Fprintf(w, "CPU: %d online, allowed %s, %d physical cores, %d socket(s), %d NUMA node(s), usable %d",
		c.Online, c.Allowed, len(c.Cores), c.Sockets, c.NUMA, c.Usable)
	if c.Quota > 0 {
		fmt.Fprintf(w, " (cgroup quota %.2f)", c.Quota)
	}
	fmt.Fprintln(w)
	if len(rep.GPUs) == 0 {
		fmt.Fprintln(w, "GPU: none (no NVIDIA driver, or no GPU visible)")
	} else {
		fmt.Fprintf(w, "GPU: driver %s, CUDA %s\n", rep.Driver, rep.CUDA)
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  INDEX\tNAME\tUUID\tMEMORY (free/total MiB)\tCOMPUTE\tMIG")
		for _, g := range rep.GPUs {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%d/%d\t%s\t%v\n", g.Index, g.Name, g.UUID,
				g.MemoryFree>>20, g.MemoryTotal>>20, g.Compute, g.MIG)
		}
		tw.Flush()
	}
	if rep.Placement == nil {
		return
	}
	fmt.Fprintln(w, "\nPlacement:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  MODEL\tGROUP\tDEVICE\tCORES\tTHREADS")
	for _, p := range rep.Placement {
		device := p.Kind
		if p.GPU != nil {
			device = fmt.Sprintf("gpu%d", *p.GPU)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%d\n", p.Model, p.Group, device, p.Cores, p.Thread)
	}
	tw.Flush()
	if len(rep.Notes) > 0 {
		fmt.Fprintln(w, "Notes:\n  "+strings.Join(rep.Notes, "\n  "))
	}
}
