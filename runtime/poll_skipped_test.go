package runtime_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/backends/backendtest"
	"github.com/tiffin-ml/tiffin/runtime"
)

// A folder with such a name that appears while the server polls is warned
// of too, once, however many periods it stays; before, only a start
// warned.
func TestPollWarnsOnceOfAFolderSkippedForItsName(t *testing.T) {
	repo := t.TempDir()
	if err := backendtest.WriteModel(repo, "good", "", 1); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	m := runtime.NewManager(runtime.ManagerOptions{Repository: repo, Backends: backends.NewRegistry(backendtest.New(backendtest.Options{})),
		Inventory: runtime.Inventory{Cores: [][]int{{0}}, Nodes: []int{0}}, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	defer m.Close(context.Background())
	if err := m.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	polled := make(chan struct{})
	go func() { m.Poll(ctx, time.Millisecond); close(polled) }()
	if err := backendtest.WriteModel(repo, "a b", "", 1); err != nil {
		t.Fatal(err)
	}
	const warning = "model folder not served"
	for deadline := time.Now().Add(5 * time.Second); len(logs.lines(warning)) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the poll did not warn of the new folder \"a b\"; log:\n%s", strings.Join(logs.lines(""), "\n"))
		}
	}
	time.Sleep(50 * time.Millisecond) // some fifty periods more
	cancel()
	<-polled
	if n := len(logs.lines(warning)); n != 1 {
		t.Errorf("warned %d times of one folder; log:\n%s", n, strings.Join(logs.lines(""), "\n"))
	}
}
