package devserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/serialization"
	persistencesql "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/resolver"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

// ErrHistoryShardsMismatch is wrapped by the error Start returns when
// Config.HistoryShards differs from the shard count an existing store was
// created with.
var ErrHistoryShardsMismatch = errors.New("history shard count of an existing store cannot change")

// prepareStore decides the history shard count and registers the namespace.
// A new store gets cfg.HistoryShards, or defaultShards when that is 0. A store
// that has been started before keeps the count it was created with;
// cfg.HistoryShards must then be 0 or that count. where names the store in
// errors.
//
// The server itself would not refuse a different shard count: it logs a
// warning and silently keeps the persisted one, so a benchmark asking for 8
// shards would quietly run on 4.
func prepareStore(ctx context.Context, sqlCfg *config.SQL, cfg Config, defaultShards int32, where string) (int32, error) {
	shards := int32(cfg.HistoryShards)
	have, err := persistedHistoryShards(ctx, sqlCfg, where)
	switch {
	case err != nil:
		return 0, err
	case have != 0 && shards != 0 && have != shards:
		return 0, fmt.Errorf("devserver: %s was created with %d history shards, HistoryShards asks for %d: %w (use %d or 0, or a new store)",
			where, have, shards, ErrHistoryShardsMismatch, have)
	case have != 0:
		shards = have
	case shards == 0:
		shards = defaultShards
	}

	// Registering the namespace directly in the database avoids racing the
	// server's own namespace cache after start; it is a no-op when the
	// namespace exists. Search attributes given here only apply to a new
	// namespace; EnsureSearchAttributes later covers existing ones.
	// Despite the package name, CreateNamespaces works through the generic
	// SQL persistence interface of whatever plugin sqlCfg names, so it serves
	// Postgres as well as SQLite.
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, cfg.Namespace, false, cfg.SearchAttributes)
	if err != nil {
		return 0, fmt.Errorf("devserver: namespace %q: %w", cfg.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		return 0, fmt.Errorf("devserver: registering namespace %q in %s: %w", cfg.Namespace, where, err)
	}
	return shards, nil
}

// persistedHistoryShards reads the shard count recorded in the store's
// cluster metadata, which the server writes on its first start; 0 means the
// store is new.
func persistedHistoryShards(ctx context.Context, sqlCfg *config.SQL, where string) (int32, error) {
	db, err := persistencesql.NewSQLDB(sqlplugin.DbKindMain, sqlCfg, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return 0, fmt.Errorf("devserver: opening %s: %w", where, err)
	}
	defer func() { _ = db.Close() }()
	row, err := db.GetClusterMetadata(ctx, &sqlplugin.ClusterMetadataFilter{ClusterName: clusterName})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("devserver: reading cluster metadata of %s: %w", where, err)
	}
	md, err := serialization.NewSerializer().DeserializeClusterMetadata(persistence.NewDataBlob(row.Data, row.DataEncoding))
	if err != nil {
		return 0, fmt.Errorf("devserver: reading cluster metadata of %s: %w", where, err)
	}
	return md.GetHistoryShardCount(), nil
}
