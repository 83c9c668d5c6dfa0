// Package sqlstore is the one database/sql implementation of registry.Store
// shared by registry/sqlite and registry/postgres. The two backends differ
// only in a small Dialect (bind markers, list and LIKE syntax, how errors
// are classified, how an Update transaction begins and is isolated) and in their
// migration files (applied by registry/schema); the schema, the queries
// and the retry loop of Update are written once here so both backends
// behave identically and pass the same suite (registry/registrytest). The
// backends embed Store, so its methods are theirs without forwarding. A
// Store never opens or closes its handles: the backend that opened the
// database does.
//
// Layout: one table per object type with a column for every attribute a
// filter uses, plus the whole object as JSON (encoding/json of the model
// struct) from which results are rebuilt; child tables for multi-valued
// query attributes; a seq column giving registration order. Status and a
// folder's lastUpdateTime change after registration, so they live in
// columns and the column value overrides the JSON when reading.
// DocumentEntries and Folders also carry their version (UNIQUE with the
// lid) and a latest flag the store maintains: inserting a version clears
// it on the older ones, deleting the latest sets it on the newest left.
// Removal (ITI-62) is a physical DELETE; child rows go with their object.
// Patient identity links live in patient_links, ended rather than
// deleted, with at most one active link from an identifier.
//
// sqlstore must never build SQL from values (every value is a bind
// parameter; only fixed column names and generated markers are
// concatenated), never return part of a submission (an Update commits
// whole or not at all), and never interpret XDS rules: validation and
// error codes belong to the registry core.
package sqlstore
