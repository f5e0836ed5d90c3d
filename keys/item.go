package keys

// ItemKey returns the raw key of the item (pk, sk), appended to dst. See the
// package documentation for the encoding.
func ItemKey(dst, pk, sk []byte) []byte {
	dst = AppendPartitionPrefix(dst, pk)
	return append(dst, sk...)
}

// AppendPartitionPrefix appends esc(pk) 0x00 0x01: the prefix every item key
// of pk starts with.
func AppendPartitionPrefix(dst, pk []byte) []byte {
	for _, c := range pk {
		if c == 0 {
			dst = append(dst, 0, 0xFF)
		} else {
			dst = append(dst, c)
		}
	}
	return append(dst, 0, 1)
}

// PartitionBounds returns the raw key range [lower, upper) holding exactly the
// items of pk.
func PartitionBounds(pk []byte) (lower, upper []byte) {
	lower = AppendPartitionPrefix(make([]byte, 0, len(pk)+4), pk)
	upper = append([]byte(nil), lower...)
	upper[len(upper)-1] = 2
	return lower, upper
}

// PartitionPrefixLen returns the length of the partition prefix of an item
// key (esc(pk) plus its terminator), or -1 if key is not an item key.
func PartitionPrefixLen(key []byte) int {
	for i := 0; i < len(key); i++ {
		if key[i] != 0 {
			continue
		}
		if i+1 >= len(key) {
			return -1
		}
		switch key[i+1] {
		case 0xFF:
			i++
		case 1:
			return i + 2
		default:
			return -1
		}
	}
	return -1
}

// SplitItemKey decodes an item key into fresh copies of pk and sk. ok is false
// if key is not an item key.
func SplitItemKey(key []byte) (pk, sk []byte, ok bool) {
	n := PartitionPrefixLen(key)
	if n < 0 {
		return nil, nil, false
	}
	pk = make([]byte, 0, n-2)
	for i := 0; i < n-2; i++ {
		pk = append(pk, key[i])
		if key[i] == 0 {
			i++ // skip the escape byte 0xFF
		}
	}
	sk = append([]byte{}, key[n:]...)
	return pk, sk, true
}
