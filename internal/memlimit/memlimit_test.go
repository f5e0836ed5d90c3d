package memlimit

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeRoot writes files (path relative to the root: text) under a new
// directory standing in for the cgroup mount and returns it.
func fakeRoot(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, text := range files {
		path := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestOf(t *testing.T) {
	const unlimitedV1 = "9223372036854771712\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		self  string
		want  int64
	}{
		{"v2 number", map[string]string{"memory.max": "max\n", "app/memory.max": "536870912\n"},
			"0::/app\n", 512 << 20},
		{"v2 max", map[string]string{"memory.max": "max\n", "app/memory.max": "max\n"},
			"0::/app\n", 0},
		{"v2 nested: the parent's limit bounds a child set to max", map[string]string{
			"box/memory.max": "1073741824\n", "box/svc/memory.max": "536870912\n", "box/svc/proc/memory.max": "max\n"},
			"0::/box/svc/proc\n", 512 << 20},
		{"v2 nested: the child's lower limit wins", map[string]string{
			"box/memory.max": "1073741824\n", "box/svc/memory.max": "268435456\n"},
			"0::/box/svc\n", 256 << 20},
		{"v2 at the root", map[string]string{"memory.max": "max\n"}, "0::/\n", 0},
		{"v2 root group has no memory.max file", map[string]string{"app/memory.max": "402653184"},
			"0::/app\n", 384 << 20},
		{"v2 missing files", map[string]string{"app/memory.max": "536870912\n"}, "0::/elsewhere/deep\n", 0},
		{"v2 path climbing out stays inside the root", map[string]string{"memory.max": "1048576\n"},
			"0::/../../..\n", 1 << 20},
		{"v1 memory controller", map[string]string{
			"memory/memory.limit_in_bytes": unlimitedV1, "memory/docker/abc/memory.limit_in_bytes": "268435456\n",
			"cpu/docker/abc/memory.limit_in_bytes": "1\n"},
			"12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n", 256 << 20},
		{"v1 controller in a list", map[string]string{"memory/k8s/pod/memory.limit_in_bytes": "134217728\n"},
			"7:cpuacct,memory:/k8s/pod\n", 128 << 20},
		{"v1 nested under a limited parent", map[string]string{
			"memory/k8s/memory.limit_in_bytes": "201326592\n", "memory/k8s/pod/memory.limit_in_bytes": unlimitedV1},
			"4:memory:/k8s/pod\n", 192 << 20},
		{"v1 unlimited", map[string]string{"memory/memory.limit_in_bytes": unlimitedV1}, "4:memory:/\n", 0},
		{"v1 named hierarchy is not memory", map[string]string{"memory/memory.limit_in_bytes": "1048576"},
			"1:name=systemd:/\n", 0},
		{"hybrid: the smaller of v1 and v2", map[string]string{
			"memory/a/memory.limit_in_bytes": "536870912\n", "a/memory.max": "268435456\n"},
			"4:memory:/a\n0::/a\n", 256 << 20},
		{"not a number", map[string]string{"app/memory.max": "lots\n"}, "0::/app\n", 0},
		{"negative", map[string]string{"app/memory.max": "-4096\n"}, "0::/app\n", 0},
		{"empty file", map[string]string{"app/memory.max": ""}, "0::/app\n", 0},
		{"overflows int64", map[string]string{"app/memory.max": "99999999999999999999\n"}, "0::/app\n", 0},
		{"no cgroup text", map[string]string{"memory.max": "1048576\n"}, "", 0},
		{"garbage lines", map[string]string{"memory.max": "1048576\n"}, "not a cgroup line\n::\n1:\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeRoot(t, tc.files)
			if got := Of(root, []byte(tc.self)); got != tc.want {
				t.Fatalf("Of = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestParseLimit(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int64
	}{
		{"536870912\n", 512 << 20},
		{"  4096  ", 4096},
		{"max\n", 0},
		{"0\n", 0},
		{"-1\n", 0},
		{"4611686018427387904\n", 0}, // 2^62: as good as unlimited
		{"4611686018427387903\n", 1<<62 - 1},
		{"12k\n", 0},
		{"", 0},
	} {
		if got := parseLimit([]byte(tc.text)); got != tc.want {
			t.Errorf("parseLimit(%q) = %d, want %d", tc.text, got, tc.want)
		}
	}
}

// FuzzOf: any /proc/self/cgroup text and limit file gives a limit >= 0
// and never panics.
func FuzzOf(f *testing.F) {
	f.Add([]byte("0::/a/b\n"), []byte("536870912\n"))
	f.Add([]byte("4:memory:/docker/x\n0::/\n"), []byte("max\n"))
	f.Add([]byte(":::\n0:::\n"), []byte("-1"))
	root := fakeRoot(f, nil)
	f.Fuzz(func(t *testing.T, self, limit []byte) {
		if err := os.WriteFile(filepath.Join(root, "memory.max"), limit, 0o644); err != nil {
			t.Fatal(err)
		}
		n := Of(root, self)
		if n < 0 || n >= 1<<62 {
			t.Fatalf("Of = %d", n)
		}
		if p := parseLimit(limit); n > 0 && p > 0 && n > p {
			t.Fatalf("Of = %d above the root's limit %d", n, p)
		}
	})
}
