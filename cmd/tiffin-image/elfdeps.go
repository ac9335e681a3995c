package main

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The image has no package manager and no ldconfig: every shared library
// its programs load must be found here, on the build host, the way the
// dynamic loader would find it, and copied in at the same path.

// elfDeps returns the host paths of everything the ELF files roots need
// to start: their program interpreter (ld-linux) and the transitive
// closure of their DT_NEEDED libraries, searched as ld.so searches:
// DT_RPATH (when there is no DT_RUNPATH), DT_RUNPATH, the directories of
// /etc/ld.so.conf, then the default ones. A library of another machine
// or class than the file that needs it is passed over, as ld.so does.
// A library found nowhere is an error naming it and the file that needs it.
func elfDeps(roots []string, searchDirs []string) ([]string, error) {
	seen := map[string]bool{}   // host paths taken
	loaded := map[string]bool{} // sonames: ld.so does not search for a name already loaded
	var out []string
	queue := append([]string(nil), roots...)
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		f, err := elf.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%s: not an ELF file the image can hold: %w", path, err)
		}
		interp, needed, dirs, err := dynamicInfo(f, path)
		f.Close()
		if err != nil {
			return nil, err
		}
		if interp != "" && !seen[interp] {
			if _, err := os.Stat(interp); err != nil {
				return nil, fmt.Errorf("%s: its interpreter %s is not on this host: %w", path, interp, err)
			}
			seen[interp] = true
			out = append(out, interp)
			loaded[soname(interp)] = true
		}
		for _, lib := range needed {
			if loaded[lib] {
				continue
			}
			loaded[lib] = true
			found, err := findLibrary(lib, f.Class, f.Machine, append(dirs, searchDirs...))
			if err != nil {
				return nil, fmt.Errorf("%s needs %s: %w", path, lib, err)
			}
			if !seen[found] {
				seen[found] = true
				out = append(out, found)
				queue = append(queue, found)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// soname is a library's DT_SONAME, or its file name.
func soname(path string) string {
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		if names, err := f.DynString(elf.DT_SONAME); err == nil && len(names) > 0 {
			return names[0]
		}
	}
	return filepath.Base(path)
}

// dynamicInfo reads an ELF file's interpreter, DT_NEEDED entries and its
// own search directories ($ORIGIN expanded).
func dynamicInfo(f *elf.File, path string) (interp string, needed, dirs []string, err error) {
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return "", nil, nil, fmt.Errorf("%s: reading PT_INTERP: %w", path, err)
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	needed, err = f.ImportedLibraries()
	if err != nil {
		return "", nil, nil, fmt.Errorf("%s: reading DT_NEEDED: %w", path, err)
	}
	runpath, _ := f.DynString(elf.DT_RUNPATH)
	rpath, _ := f.DynString(elf.DT_RPATH)
	if len(runpath) > 0 {
		rpath = nil // DT_RUNPATH disables DT_RPATH
	}
	origin := filepath.Dir(path)
	for _, list := range append(rpath, runpath...) {
		for _, d := range strings.Split(list, ":") {
			d = strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", origin), "$ORIGIN", origin)
			if d != "" {
				dirs = append(dirs, d)
			}
		}
	}
	return interp, needed, dirs, nil
}

// findLibrary finds name in dirs, skipping files of another class or machine.
func findLibrary(name string, class elf.Class, machine elf.Machine, dirs []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		ok := f.Class == class && f.Machine == machine
		f.Close()
		if ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("not found in %s", strings.Join(dirs, ":"))
}

// loaderDirs lists the directories ld.so searches on this host after an
// object's own: those of /etc/ld.so.conf (and its includes), then the
// default ones.
func loaderDirs() []string {
	var dirs []string
	readLdSoConf("/etc/ld.so.conf", &dirs, 0)
	return append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib")
}

func readLdSoConf(path string, dirs *[]string, depth int) {
	b, err := os.ReadFile(path)
	if err != nil || depth > 8 {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "include "):
			pattern := strings.TrimSpace(strings.TrimPrefix(line, "include "))
			if !filepath.IsAbs(pattern) {
				pattern = filepath.Join(filepath.Dir(path), pattern)
			}
			matches, _ := filepath.Glob(pattern)
			sort.Strings(matches)
			for _, m := range matches {
				readLdSoConf(m, dirs, depth+1)
			}
		default:
			*dirs = append(*dirs, line)
		}
	}
}

// goarch names an ELF machine the way image platforms do.
func goarch(m elf.Machine) (string, error) {
	switch m {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	case elf.EM_PPC64:
		return "ppc64le", nil
	case elf.EM_S390:
		return "s390x", nil
	case elf.EM_RISCV:
		return "riscv64", nil
	}
	return "", fmt.Errorf("ELF machine %v has no image platform here", m)
}
