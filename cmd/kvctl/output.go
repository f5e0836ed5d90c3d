package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// printable reports whether b is printable UTF-8 (so it can be shown as is).
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}

// show renders a value for a tab-separated line: as is when it is printable
// and does not begin with a double quote, Go-quoted (strconv.Quote)
// otherwise, so a shown value that begins with a double quote is always a
// quoted one.
func show(b []byte) string {
	if printable(b) && (len(b) == 0 || b[0] != '"') {
		return string(b)
	}
	return strconv.Quote(string(b))
}

// showKey renders a key or sort key: as is when it is one plain word (not
// empty, printable, without spaces, quotes or backslashes), Go-quoted
// otherwise. Either way the shell reads it back as the same bytes, so any
// key that scan or query shows can be pasted into a shell command.
func showKey(b []byte) string {
	if len(b) > 0 && printable(b) && !bytes.ContainsAny(b, " \"'\\") {
		return string(b)
	}
	return strconv.Quote(string(b))
}

// jsonBytes puts b into a JSON object under name, or under name+"_base64"
// when it is not valid UTF-8.
func jsonBytes(obj map[string]any, name string, b []byte) {
	if utf8.Valid(b) {
		obj[name] = string(b)
	} else {
		obj[name+"_base64"] = base64.StdEncoding.EncodeToString(b)
	}
}

// jsonField reads back what jsonBytes wrote: the string under name, or the
// base64 under name+"_base64" decoded. Both, or a value that is not a
// string, is an error.
func jsonField(obj map[string]json.RawMessage, name string) ([]byte, bool, error) {
	raw, plain := obj[name]
	raw64, encoded := obj[name+"_base64"]
	switch {
	case plain && encoded:
		return nil, false, fmt.Errorf("both %q and %q", name, name+"_base64")
	case plain:
		s, err := jsonString(name, raw)
		return []byte(s), true, err
	case encoded:
		s, err := jsonString(name+"_base64", raw64)
		if err != nil {
			return nil, false, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, false, fmt.Errorf("field %q: bad base64: %v", name+"_base64", err)
		}
		return b, true, nil
	}
	return nil, false, nil
}

// jsonString decodes a JSON string (not null, not any other type).
func jsonString(name string, raw json.RawMessage) (string, error) {
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil || s == nil {
		return "", fmt.Errorf("field %q: want a string, got %s", name, raw)
	}
	return *s, nil
}

func writeJSON(w io.Writer, obj any) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// expiryJSON adds the expiry (Unix milliseconds) when there is one.
func expiryJSON(obj map[string]any, exp time.Time) {
	if !exp.IsZero() {
		obj["expires_at_ms"] = exp.UnixMilli()
	}
}
