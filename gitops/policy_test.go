package gitops

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPolicyLatest(t *testing.T) {
	cases := []struct {
		name    string
		policy  Policy
		tags    []string
		prefer  string
		want    string
		wantErr error
	}{
		{name: "highest in range, not merely the newest released", policy: Policy{SemVer: ">=1.0.0 <2.0.0"},
			tags: []string{"1.4.0", "1.2.0", "2.0.0", "1.3.0"}, want: "1.4.0"},
		{name: "pre-releases excluded when the range has none", policy: Policy{SemVer: ">=1.0.0"},
			tags: []string{"1.2.0", "1.3.0-rc.1"}, want: "1.2.0"},
		{name: "pre-releases admitted by a -0 range", policy: Policy{SemVer: ">=1.0.0-0"},
			tags: []string{"1.2.0", "1.3.0-rc.1"}, want: "1.3.0-rc.1"},
		{name: "pre-release comparator admits same-tuple pre-releases", policy: Policy{SemVer: ">=1.3.0-rc.1 <1.4.0"},
			tags: []string{"1.3.0-rc.1", "1.3.0-rc.2", "1.2.9"}, want: "1.3.0-rc.2"},
		{name: "v prefixes parse; original returned", policy: Policy{SemVer: "1.0.x"},
			tags: []string{"v1.2.3", "v1.0.0", "v0.1.0", "v1.0.4"}, want: "v1.0.4"},
		{name: "non-strict versions ignored like Flux", policy: Policy{SemVer: ">=1.0.0"},
			tags: []string{"1.0.0", "1.0.0.1", "1.0.0p", "1.1", "latest"}, want: "1.0.0"},
		{name: "extract group orders the extracted value, returns the tag", policy: Policy{SemVer: ">=1.0.0",
			FilterPattern: `^main-(?P<ver>[0-9.]+)-[a-f0-9]+$`, FilterExtract: "$ver"},
			tags: []string{"main-1.2.0-abc", "main-1.10.0-def", "1.20.0", "main-1.9.0-aaa"}, want: "main-1.10.0-def"},
		{name: "filter drops non-matching tags", policy: Policy{SemVer: ">=1.0.0", FilterPattern: `^v`},
			tags: []string{"v1.0.0", "2.0.0"}, want: "v1.0.0"},
		{name: "build metadata does not order versions: first wins", policy: Policy{SemVer: ">=1.0.0"},
			tags: []string{"1.2.0+b2", "1.2.0+b1"}, want: "1.2.0+b2"},
		{name: "tie: the current value wins (no churn)", policy: Policy{SemVer: ">=1.0.0"},
			tags: []string{"1.2.0+b2", "1.2.0+b1"}, prefer: "1.2.0+b1", want: "1.2.0+b1"},
		{name: "tie between v and no-v spelling", policy: Policy{SemVer: ">=1.0.0"},
			tags: []string{"v1.2.0", "1.2.0"}, want: "v1.2.0"},
		{name: "nothing allowed", policy: Policy{SemVer: ">=3.0.0"}, tags: []string{"1.0.0", "2.0.0"}, wantErr: ErrNoVersion},
		{name: "alphabetical asc takes the last", policy: Policy{Alphabetical: "asc"}, tags: []string{"b", "c", "a"}, want: "c"},
		{name: "alphabetical desc takes the first", policy: Policy{Alphabetical: "desc"}, tags: []string{"b", "c", "a"}, want: "a"},
		{name: "numerical asc", policy: Policy{Numerical: "asc"}, tags: []string{"9", "10", "2"}, want: "10"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.policy.Latest(c.tags, c.prefer)
			if c.wantErr != nil {
				require.ErrorIs(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestPolicyInvalid(t *testing.T) {
	for _, p := range []Policy{{SemVer: ">=1.0.0 <<2"}, {SemVer: "x1"}, {}, {SemVer: "1.x", Alphabetical: "asc"},
		{Alphabetical: "up"}, {SemVer: "1.x", FilterPattern: "("}} {
		assert.Error(t, p.Validate(), "%+v", p)
	}
}

func TestDefaultPolicy(t *testing.T) {
	avail := []string{"1.2.0", "1.3.0", "1.3.1-rc.1", "2.0.0", "0.9.0"}
	for _, c := range []struct{ rule, current, want string }{
		{"", "1.2.0", "1.3.0"},
		{PolicySameMajor, "v1.2.0", "1.3.0"},
		{PolicySameMinor, "1.2.0", "1.2.0"},
		{PolicyLatest, "1.2.0", "2.0.0"},
		{">=1.3.0-0 <2", "1.2.0", "1.3.1-rc.1"},
	} {
		p, ok, err := DefaultPolicy(c.rule, c.current)
		require.NoError(t, err)
		require.True(t, ok)
		got, err := p.Latest(avail, c.current)
		require.NoError(t, err)
		assert.Equal(t, c.want, got, "%s from %s", c.rule, c.current)
	}
	_, ok, err := DefaultPolicy(PolicyNone, "1.0.0")
	assert.NoError(t, err)
	assert.False(t, ok)
	assert.Error(t, ValidPolicyRule("sometimes"))
}

func TestWithPrefix(t *testing.T) {
	assert.Equal(t, "v1.3.0", withPrefix("1.3.0", "v1.2.0"))
	assert.Equal(t, "1.3.0", withPrefix("v1.3.0", "1.2.0"))
	assert.Equal(t, "v1.3.0", withPrefix("v1.3.0", "v1.2.0"))
	assert.Equal(t, "main-1", withPrefix("main-1", "v1"))
}

func TestNameMatches(t *testing.T) {
	assert.True(t, nameMatches("hello", "hello"))
	assert.True(t, nameMatches("hello-${cluster}", "hello-prod"))
	assert.True(t, nameMatches("hello-prod", "hello-${cluster:=dev}"))
	assert.True(t, nameMatches("${a}-x", "${b}-x"))
	assert.False(t, nameMatches("hello-${cluster}", "hello-"))
	assert.False(t, nameMatches("hello-${cluster}", "bye-prod"))
	assert.False(t, nameMatches("a.b", "axb"))
}
