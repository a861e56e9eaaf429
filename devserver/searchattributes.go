package devserver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// searchAttributePollInterval is how often EnsureSearchAttributes re-reads the
// attribute list while waiting for additions to become visible.
const searchAttributePollInterval = 100 * time.Millisecond

// EnsureSearchAttributes adds every missing custom search attribute to namespace through the
// operator service, and waits until they are visible; works against any Temporal frontend
// (embedded or an external cluster), so `omnichat migrate` can call it too.
//
// It is idempotent: attributes that already exist with the requested type are left alone.
// An attribute that exists with a different type, or that clashes with a system attribute,
// is an error, because silently keeping the wrong type would break queries later. Waiting is
// bounded only by ctx, so callers should pass a context with a deadline.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string, attrs map[string]enumspb.IndexedValueType) error {
	_, err := ensureSearchAttributes(ctx, c, namespace, attrs)
	return err
}

// ensureSearchAttributes is EnsureSearchAttributes, also saying whether it
// added any.
func ensureSearchAttributes(ctx context.Context, c client.Client, namespace string, attrs map[string]enumspb.IndexedValueType) (added bool, err error) {
	if len(attrs) == 0 {
		return false, nil
	}
	op := c.OperatorService()

	missing, err := missingSearchAttributes(ctx, op, namespace, attrs)
	if err != nil {
		return false, err
	}
	if len(missing) == 0 {
		return false, nil
	}

	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		SearchAttributes: missing,
		Namespace:        namespace,
	})
	// Another process (a second `omnichat migrate`, a restarted dev server) may
	// have added the same attributes between our list and add; the re-check
	// below decides whether that left things in the state we want.
	var alreadyExists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &alreadyExists) {
		return false, fmt.Errorf("adding search attributes %s to namespace %q: %w",
			strings.Join(slices.Sorted(maps.Keys(missing)), ", "), namespace, err)
	}

	// Additions can take a moment to show up (Elasticsearch mapping updates,
	// per-host caches), so poll until every attribute is listed.
	ticker := time.NewTicker(searchAttributePollInterval)
	defer ticker.Stop()
	for {
		missing, err = missingSearchAttributes(ctx, op, namespace, attrs)
		if err != nil {
			return true, err
		}
		if len(missing) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return true, fmt.Errorf("waiting for search attributes %s in namespace %q: %w",
				strings.Join(slices.Sorted(maps.Keys(missing)), ", "), namespace, ctx.Err())
		case <-ticker.C:
		}
	}

	// Listed is not yet usable: the services that validate a workflow's
	// attributes cache them (for up to a minute). Wait until a workflow
	// start carrying all of them is accepted.
	for {
		err := probeSearchAttributes(ctx, c, attrs)
		if err == nil {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return true, fmt.Errorf("waiting for search attributes in namespace %q to be usable: %w (last error: %v)", namespace, ctx.Err(), err)
		case <-ticker.C:
		}
	}
}

// probeSearchAttributes starts a workflow that carries every attribute in
// attrs on a task queue no worker polls, then terminates it.
func probeSearchAttributes(ctx context.Context, c client.Client, attrs map[string]enumspb.IndexedValueType) error {
	var updates []temporal.SearchAttributeUpdate
	for name, typ := range attrs {
		switch typ {
		case enumspb.INDEXED_VALUE_TYPE_TEXT:
			updates = append(updates, temporal.NewSearchAttributeKeyString(name).ValueSet("probe"))
		case enumspb.INDEXED_VALUE_TYPE_KEYWORD:
			updates = append(updates, temporal.NewSearchAttributeKeyKeyword(name).ValueSet("probe"))
		case enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST:
			updates = append(updates, temporal.NewSearchAttributeKeyKeywordList(name).ValueSet([]string{"probe"}))
		case enumspb.INDEXED_VALUE_TYPE_INT:
			updates = append(updates, temporal.NewSearchAttributeKeyInt64(name).ValueSet(0))
		case enumspb.INDEXED_VALUE_TYPE_DOUBLE:
			updates = append(updates, temporal.NewSearchAttributeKeyFloat64(name).ValueSet(0))
		case enumspb.INDEXED_VALUE_TYPE_BOOL:
			updates = append(updates, temporal.NewSearchAttributeKeyBool(name).ValueSet(false))
		case enumspb.INDEXED_VALUE_TYPE_DATETIME:
			updates = append(updates, temporal.NewSearchAttributeKeyTime(name).ValueSet(time.Unix(0, 0)))
		}
	}
	id := "search-attribute-probe-" + strconv.FormatUint(rand.Uint64(), 36)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             "search-attribute-probe",
		TypedSearchAttributes: temporal.NewSearchAttributes(updates...),
	}, "SearchAttributeProbe")
	if err != nil {
		return err
	}
	return c.TerminateWorkflow(ctx, id, run.GetRunID(), "search attribute probe")
}

// missingSearchAttributes returns the subset of want that namespace does not
// have yet, or an error if one of want exists with another type.
func missingSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, namespace string, want map[string]enumspb.IndexedValueType) (map[string]enumspb.IndexedValueType, error) {
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("listing search attributes of namespace %q: %w", namespace, err)
	}
	missing := make(map[string]enumspb.IndexedValueType)
	for name, typ := range want {
		if _, ok := resp.GetSystemAttributes()[name]; ok {
			return nil, fmt.Errorf("search attribute %q is a Temporal system attribute; pick another name", name)
		}
		have, ok := resp.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case have != typ:
			return nil, fmt.Errorf("search attribute %q exists in namespace %q with type %s, want %s",
				name, namespace, have, typ)
		}
	}
	return missing, nil
}
