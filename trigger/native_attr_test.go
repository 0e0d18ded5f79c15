package trigger

import (
	"math/rand/v2"
	"testing"
)

// TestNativeAttributesMatchVM checks that expressions reading attributes
// on the Go path yield what expr's VM yields, on random attribute values
// (missing ones and values of another type than declared included).
func TestNativeAttributesMatchVM(t *testing.T) {
	t.Parallel()
	o := &Options{Attributes: []Attribute{{"tags", AttrList}, {"team", AttrString}, {"level", AttrInt}, {"vip", AttrBool}}}
	exprs := []string{
		`"vip" in Attr.tags`,
		`"vip" not in Attr.tags`,
		`Attr.team == "billing" && Attr.level > 2`,
		`Attr.vip`,
		`not Attr.vip || Attr.team startsWith "bi"`,
		`Attr.team in ["billing", "sales"]`,
		`Attr.level in 1..3`,
		`Attr.level >= Ticket.SlaSolutionTime`,
		`Attr.team == Ticket.Status`,
	}
	r := rand.New(rand.NewPCG(5, 6))
	values := []any{nil, "billing", "sales", "", 0, 1, 3, true, false, []string{"vip"}, []string{}, []string{"a", "vip"}}
	for _, src := range exprs {
		set, err := Compile([]Definition{{ID: "t", Expression: src, Actions: []ActionDefinition{{Type: ActionNote, Text: "x"}}}}, o)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		tr := set.Triggers()[0]
		if tr.native == nil {
			t.Errorf("%s: not on the Go path", src)
			continue
		}
		for range 200 {
			before, after := randomChange(r)
			ev := NewEvent(before, after)
			ev.AfterAttrs = Attrs{}
			for _, name := range []string{"tags", "team", "level", "vip"} {
				if v := values[r.IntN(len(values))]; v != nil {
					ev.AfterAttrs[name] = v
				}
			}
			want, werr := vmResult(tr, ev)
			got, gerr := tr.Evaluate(ev)
			if werr != nil || gerr != nil || got != want {
				t.Fatalf("%s with %v: Go path %v (%v), VM %v (%v)", src, ev.AfterAttrs, got, gerr, want, werr)
			}
			ev.Release()
		}
	}
}
