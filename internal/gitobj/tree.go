package gitobj

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
)

// treeEntry is one entry of a git tree object.
type treeEntry struct {
	mode string // as git stores it: "100644", "40000", …
	name string
	oid  []byte // raw, 20 bytes (SHA-1) or 32 (SHA-256)
}

// key is the name git sorts tree entries by: a sub-tree's name with "/" appended.
func (e treeEntry) key() string {
	if e.mode == "40000" {
		return e.name + "/"
	}
	return e.name
}

func (e treeEntry) appendTo(b []byte) []byte {
	b = append(b, e.mode...)
	b = append(b, ' ')
	b = append(b, e.name...)
	b = append(b, 0)
	return append(b, e.oid...)
}

// treeKey is the sort key of a raw entry name with its raw mode.
func treeKey(mode, name []byte) []byte {
	if string(mode) == "40000" {
		return append(append(make([]byte, 0, len(name)+1), name...), '/')
	}
	return name
}

// treeEdit returns the raw tree object tree with the entries named in edits
// replaced (a nil entry deletes the name) and new names inserted in git's order.
// The entries it doesn't touch are copied byte for byte, so the cost is one
// linear pass over the tree: no parsing into maps, no sorting, no git process.
func treeEdit(tree []byte, hashLen int, edits map[string]*treeEntry) ([]byte, error) {
	var add []treeEntry
	for name, e := range edits {
		if e == nil {
			continue
		}
		if e.name != name || e.name == "" || strings.ContainsAny(e.name, "/\x00") || len(e.oid) != hashLen {
			return nil, fmt.Errorf("invalid tree entry %q", name)
		}
		add = append(add, *e)
	}
	slices.SortFunc(add, func(a, b treeEntry) int { return strings.Compare(a.key(), b.key()) })
	out := make([]byte, 0, len(tree)+len(add)*(hashLen+64))
	rest := tree
	for len(rest) > 0 {
		sp := bytes.IndexByte(rest, ' ')
		if sp < 0 {
			return nil, errors.New("corrupt tree object: no mode")
		}
		nul := bytes.IndexByte(rest[sp:], 0)
		if nul < 0 || sp+nul+1+hashLen > len(rest) {
			return nil, errors.New("corrupt tree object: truncated entry")
		}
		mode, name := rest[:sp], rest[sp+1:sp+nul]
		n := sp + nul + 1 + hashLen
		ent := rest[:n]
		rest = rest[n:]
		key := treeKey(mode, name)
		for len(add) > 0 && add[0].key() < string(key) {
			out = add[0].appendTo(out)
			add = add[1:]
		}
		if _, ok := edits[string(name)]; ok {
			continue // replaced or deleted
		}
		out = append(out, ent...)
	}
	for _, e := range add {
		out = e.appendTo(out)
	}
	return out, nil
}

// objectID is the id git gives an object of type typ holding data, for
// ids of hashLen bytes (SHA-1 or SHA-256 repositories).
func objectID(typ string, data []byte, hashLen int) ([]byte, error) {
	var h hash.Hash
	switch hashLen {
	case sha1.Size:
		h = sha1.New()
	case sha256.Size:
		h = sha256.New()
	default:
		return nil, fmt.Errorf("unknown object id length %d", hashLen)
	}
	fmt.Fprintf(h, "%s %d\x00", typ, len(data))
	h.Write(data)
	return h.Sum(nil), nil
}

func parseOID(hexOID string, hashLen int) ([]byte, error) {
	b, err := hex.DecodeString(hexOID)
	if err != nil || len(b) != hashLen {
		return nil, fmt.Errorf("git printed %q where an object id was expected", hexOID)
	}
	return b, nil
}
