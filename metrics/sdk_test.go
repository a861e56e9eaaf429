package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The SDK tags one metric with different label sets in different places;
// all of them must reach /metrics without the registry refusing any.
func TestSDKHandlerExportsInconsistentTags(t *testing.T) {
	m := New()
	h := m.SDKHandler()
	h.WithTags(map[string]string{"namespace": "default"}).Counter("temporal_request").Inc(2)
	h.WithTags(map[string]string{"namespace": "default", "operation": "Poll"}).Counter("temporal_request").Inc(1)
	h.WithTags(map[string]string{"task_queue": "q"}).Timer("temporal_workflow_task_execution_latency").Record(30 * time.Millisecond)
	h.Gauge("temporal_num_pollers").Update(3)

	_, err := m.Registry.Gather()
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	out := string(body)
	require.Contains(t, out, `temporal_request{namespace="default",operation=""} 2`)
	require.Contains(t, out, `temporal_request{namespace="default",operation="Poll"} 1`)
	require.Contains(t, out, `temporal_workflow_task_execution_latency_seconds_bucket{task_queue="q",le="0.05"} 1`)
	require.Contains(t, out, `temporal_num_pollers 3`)
	require.False(t, strings.Contains(out, "error"), out)
}
