package api

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/omnichat/omnichat/metrics"
)

// TestOpenAPIMatchesRoutes fails when a registered route is missing from
// api/openapi.yaml, or the spec names a route the server does not have.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var spec struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(OpenAPISpec, &spec))
	methods := map[string]bool{"get": true, "post": true, "put": true, "patch": true, "delete": true}
	var documented []string
	for path, ops := range spec.Paths {
		for m := range ops {
			if methods[m] {
				documented = append(documented, strings.ToUpper(m)+" "+path)
			}
		}
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	var registered []string
	for _, r := range New(Deps{Metrics: metrics.New()}).Routes() {
		if r.Method == http.MethodOptions {
			continue // CORS preflight, described in the spec's introduction
		}
		registered = append(registered, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	sort.Strings(documented)
	sort.Strings(registered)
	require.Equal(t, registered, documented)
}
