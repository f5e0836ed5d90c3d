package smaps

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Field returns the value of the field name (Rss, VmFlags, ...) of the
// mapping of /proc/self/smaps that holds addr, with the spaces around it
// trimmed.
func Field(addr uintptr, name string) (string, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	prefix := name + ":"
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 && !strings.Contains(strings.Fields(line)[0], ":") {
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, prefix) {
			return strings.TrimSpace(strings.TrimPrefix(line, prefix)), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("smaps: no mapping holds %#x with a field %s", addr, name)
}
