package services

// The template cache and the sweep of stale servers, for the external
// tests (postgres_test.go).

type PGStartError = pgStartError

const (
	TemplateMarker = templateMarker
	OwnerFile      = ownerFile
)

var (
	FindPostgres      = findPostgres
	SweepStaleServers = sweepStaleServers
)

func (in *pgInstall) TemplateDir() string                         { return in.templateDir() }
func (in *pgInstall) TemplateComplete(dir string) bool            { return in.templateComplete(dir) }
func (in *pgInstall) Start(rebuild bool) (*PostgresServer, error) { return in.start(rebuild) }
