package trigger

import (
	"math"
	"reflect"
	"strings"
	"time"
)

// The abstract values of the cost bound; see cost.go.

// akind is the kind of an abstract value.
type akind uint8

const (
	aUnknown akind = iota // any value; its size bounds it
	aNil
	aScalar // bool, float, time and duration: fixed size
	aInt
	aString
	aList
	aMap
	aRecord // a struct (such as a ticket) of type t
)

// scalarSize is the size counted for a scalar value.
const scalarSize = 8

// aval is an abstract value: a bound on the values a node can yield.
type aval struct {
	k      akind
	lo, hi int          // aInt: the interval
	size   uint64       // aString: bytes; aList, aMap: elements' sizes summed; aRecord, aUnknown: encoded bytes
	n      uint64       // aList, aMap: elements
	elem   *aval        // aList: an element; aMap: a value
	t      reflect.Type // aRecord
}

var (
	anyInt    = aval{k: aInt, lo: math.MinInt, hi: math.MaxInt, size: scalarSize}
	scalarVal = aval{k: aScalar, size: scalarSize}
)

func intVal(lo, hi int) aval { return aval{k: aInt, lo: lo, hi: hi, size: scalarSize} }
func strVal(n uint64) aval   { return aval{k: aString, size: min(n, inf)} }
func listVal(n, size uint64, elem aval) aval {
	return aval{k: aList, n: min(n, inf), size: min(size, inf), elem: &elem}
}

// sized reports whether v's cost can depend on its size.
func (v aval) sized() bool {
	switch v.k {
	case aString, aList, aMap, aRecord, aUnknown:
		return true
	}
	return false
}

// withSize returns v with its size (and what follows from it) at most s.
func (v aval) withSize(s uint64) aval {
	if !v.sized() || s >= v.size {
		return v
	}
	switch v.k {
	case aList, aMap:
		e := v.elem.withSize(s)
		n := v.n
		if m := minSize(e); m > 0 && s/m < n {
			n = s / m
		}
		return aval{k: v.k, n: n, size: s, elem: &e}
	case aRecord:
		return aval{k: aRecord, size: s, t: v.t}
	}
	v.size = s
	return v
}

// minSize is the least size of a value like v, which bounds how many fit
// in a list of a given size: 0 when its size does not bound the count
// (empty strings, such as those split returns, and empty lists).
func minSize(v aval) uint64 {
	switch v.k {
	case aRecord:
		return minEncoded(v.t)
	case aInt, aScalar:
		return scalarSize
	}
	return 0
}

// join returns a bound on values bounded by a or b.
func join(a, b aval) aval {
	switch {
	case a.k == aNil:
		return b
	case b.k == aNil:
		return a
	case a.k != b.k || (a.k == aRecord && a.t != b.t):
		return aval{k: aUnknown, size: max(a.size, b.size)}
	}
	r := a
	r.size, r.n = max(a.size, b.size), max(a.n, b.n)
	r.lo, r.hi = min(a.lo, b.lo), max(a.hi, b.hi)
	if a.elem != nil && b.elem != nil {
		e := join(*a.elem, *b.elem)
		r.elem = &e
	}
	return r
}

// same reports whether a and b are the same bound.
func same(a, b aval) bool {
	if a.k != b.k || a.lo != b.lo || a.hi != b.hi || a.size != b.size || a.n != b.n || a.t != b.t {
		return false
	}
	if a.elem == nil || b.elem == nil {
		return a.elem == b.elem
	}
	return same(*a.elem, *b.elem)
}

// typeVal bounds a value of type t found in a ticket of size bytes.
func typeVal(t reflect.Type, size uint64) aval {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(time.Time{}) {
		return scalarVal
	}
	switch t.Kind() {
	case reflect.String:
		return strVal(size)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return anyInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return intVal(0, math.MaxInt)
	case reflect.Bool, reflect.Float32, reflect.Float64:
		return scalarVal
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return strVal(size)
		}
		elem := typeVal(t.Elem(), size)
		return listVal(size/max(1, minEncoded(t.Elem())), size, elem)
	case reflect.Map:
		elem := typeVal(t.Elem(), size)
		return aval{k: aMap, n: size / max(1, minEncoded(t.Elem())+minEncoded(t.Key())+1), size: size, elem: &elem}
	case reflect.Struct:
		return aval{k: aRecord, size: size, t: t}
	}
	return aval{k: aUnknown, size: size}
}

// minEncoded is the least number of bytes a value of type t takes in JSON.
func minEncoded(t reflect.Type) uint64 {
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		return 1 // at least one byte, whatever it holds
	case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
		return 2
	case reflect.Bool:
		return 4
	case reflect.Struct:
		n := uint64(2)
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" {
				name = tag
			}
			n += uint64(len(name)) + 4 + minEncoded(f.Type) // "name": value,
		}
		return n - 1
	}
	return 1
}
