package soap

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// allocatedBy reports how many bytes the whole process allocated while f
// ran. It measures allocation, not time: an entity expansion or a tree
// built for a hostile document shows up as hundreds of megabytes.
func allocatedBy(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func billionLaughs() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><!DOCTYPE env:Envelope [<!ENTITY lol "lol">`)
	prev := "lol"
	for i := 1; i <= 9; i++ {
		name := fmt.Sprintf("lol%d", i)
		b.WriteString(`<!ENTITY ` + name + ` "` + strings.Repeat("&"+prev+";", 10) + `">`)
		prev = name
	}
	b.WriteString(`]>`)
	b.WriteString(envelope(wsaHeaders(testAction), "<a>&lol9;</a>"))
	return b.String()
}

func quadraticBlowup() string {
	// 100 kB entity referenced 100 000 times: 300 kB on the wire, 10 GB
	// if expanded.
	return `<!DOCTYPE env:Envelope [<!ENTITY a "` + strings.Repeat("a", 100_000) + `">]>` +
		envelope(wsaHeaders(testAction), "<a>"+strings.Repeat("&a;", 100_000)+"</a>")
}

// TestHostileXMLCostsLittle sends entity bombs and nesting bombs over
// HTTP and checks each gets its fault while the whole process (client and
// server) allocates no more than four times the request size plus 2 MiB:
// the envelope has to be read into a buffer that grows by doubling, but
// nothing is expanded and no tree is built. Expanded, the billion laughs would be 3 GB and the quadratic
// blowup 10 GB.
func TestHostileXMLCostsLittle(t *testing.T) {
	tests := []struct {
		name string
		body string
		kind error
	}{
		{"billion laughs", billionLaughs(), ErrForbiddenXML},
		{"quadratic blowup", quadraticBlowup(), ErrForbiddenXML},
		{"quadratic blowup without DTD", envelope(wsaHeaders(testAction), "<a>"+strings.Repeat("&a;", 100_000)+"</a>"), ErrMalformed},
		{"million-deep nesting", envelope(wsaHeaders(testAction), strings.Repeat("<a>", 1_000_000)), ErrLimit},
		{"million elements", envelope(wsaHeaders(testAction), "<l>"+strings.Repeat("<i/>", 1_000_000)+"</l>"), ErrLimit},
		{"million comments", envelope(wsaHeaders(testAction), "<l>"+strings.Repeat("<!---->", 1_000_000)+"</l>"), ErrLimit},
		{"attribute flood in one tag", envelope(wsaHeaders(testAction), "<a"+func() string {
			var b strings.Builder
			for i := range 1_000_000 {
				fmt.Fprintf(&b, " a%d=''", i)
			}
			return b.String()
		}()+"/>"), ErrLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The structural limits are what is tested: an envelope limit
			// (DefaultRequestEnvelope) must not refuse the bodies first.
			url, results := captureServer(t, Limits{MaxEnvelope: 32 << 20})
			var res result
			var status int
			alloc := allocatedBy(func() {
				resp := post(t, url, ct12, strings.NewReader(tc.body))
				status = resp.StatusCode
				res = <-results
			})
			if !errors.Is(res.err, tc.kind) || status != 400 {
				t.Fatalf("status %d, err %v, want %v", status, res.err, tc.kind)
			}
			if limit := 4*uint64(len(tc.body)) + 2<<20; alloc > limit {
				t.Errorf("allocated %d bytes for a %d-byte request (limit %d)", alloc, len(tc.body), limit)
			}
			t.Logf("%d-byte request: %d bytes allocated", len(tc.body), alloc)
		})
	}
}

// TestParseXMLBoundaries checks the limits are exact: a document at the
// limit passes, one over it fails.
func TestParseXMLBoundaries(t *testing.T) {
	lim := Limits{MaxDepth: 5, MaxElements: 10, MaxAttrs: 3}.withDefaults()
	tests := []struct {
		doc  string
		kind error
	}{
		{"<a><b><c><d><e/></d></c></b></a>", nil},
		{"<a><b><c><d><e><f/></e></d></c></b></a>", ErrLimit},
		{"<a>" + strings.Repeat("<b/>", 9) + "</a>", nil},
		{"<a>" + strings.Repeat("<b/>", 10) + "</a>", ErrLimit},
		{"<a><!--1--><!--2-->" + strings.Repeat("<b/>", 8) + "</a>", ErrLimit},
		{`<a x="1" y="2" z="3"/>`, nil},
		{`<a x="1" y="2" z="3" w="4"/>`, ErrLimit},
		{"\xEF\xBB\xBF<a/>", nil}, // UTF-8 BOM
		{`<?xml version="1.0" encoding="utf-8"?><a/>`, nil},
		{"\n  <?xml version=\"1.0\"?><a/>", nil},
		{`<?xml version="1.0" encoding="UTF-16"?><a/>`, ErrMediaType},
		{"\xFF\xFE<\x00a\x00/\x00>\x00", ErrMalformed}, // UTF-16
		{"<a>&#0;</a>", ErrMalformed},
		{"<a>&#x1F600;&amp;&lt;</a>", nil},
		{"<a><![CDATA[<not-a-tag/>]]></a>", nil},
		{"<a/><!-- trailing comment -->", nil},
		{"<!DOCTYPE a><a/>", ErrForbiddenXML},
		{"<a><!ENTITY x 'y'></a>", ErrForbiddenXML},
		{"<a></b>", ErrMalformed},
		{"<a>", ErrMalformed},
		{"", ErrMalformed},
	}
	for _, tc := range tests {
		_, err := parseXML([]byte(tc.doc), lim)
		if tc.kind == nil && err != nil || tc.kind != nil && !errors.Is(err, tc.kind) {
			t.Errorf("%q: err %v, want %v", tc.doc, err, tc.kind)
		}
	}
}
