package main

import (
	"slices"
	"testing"
)

// In the environment or a config file several communities are one value:
// a comma followed by urn:oid: starts the next one; other commas stay.
func TestCommunityFlagSplits(t *testing.T) {
	var f communityFlag
	if err := f.Set("urn:oid:1.2.3=https://a.example/x?a=1,2;name=Vest, urn:oid:1.2.4=https://b.example/,urn:oid:1.2.5=https://c.example/"); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("urn:oid:1.2.6=https://d.example/;name=Nord, Troms"); err != nil {
		t.Fatal(err)
	}
	want := []string{"urn:oid:1.2.3=https://a.example/x?a=1,2;name=Vest", "urn:oid:1.2.4=https://b.example/",
		"urn:oid:1.2.5=https://c.example/", "urn:oid:1.2.6=https://d.example/;name=Nord, Troms"}
	if !slices.Equal(f, want) {
		t.Errorf("got %q", f)
	}
}
