package main

import (
	"strings"

	"github.com/urfave/cli/v3"
)

// rawSliceFlag is a repeatable string flag whose values are never split on
// commas: helm's --set a=1,b=2 and --set list={x,y} keep their own syntax.
type rawSliceFlag = cli.FlagBase[[]string, cli.StringConfig, rawSlice]

type rawSlice struct{ dest *[]string }

func (rawSlice) Create(val []string, p *[]string, _ cli.StringConfig) cli.Value {
	*p = append([]string(nil), val...)
	return &rawSlice{dest: p}
}

func (rawSlice) ToString(v []string) string { return strings.Join(v, " ") }

func (r *rawSlice) Set(s string) error { *r.dest = append(*r.dest, s); return nil }
func (r *rawSlice) Get() any           { return *r.dest }
func (r *rawSlice) String() string {
	if r.dest == nil {
		return ""
	}
	return strings.Join(*r.dest, " ")
}
