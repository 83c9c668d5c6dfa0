package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"pjd/gateway/audit"
	"pjd/repository/fs"
	"pjd/repository/s3"
)

// The audit witness: where pjd keeps the audit chain's head outside the
// database (see gateway/audit.Witness). serve writes it every
// --audit-witness-interval; `pjd audit verify` checks the chain against it.

// witnessPrefix is where the heads go in the document bucket.
const witnessPrefix = "audit-witness/"

// witnessFlags choose the witness.
type witnessFlags struct {
	target   string // "", "s3", "none" or a directory
	interval time.Duration
}

const witnessUsage = "where the audit chain's head is kept outside the database: s3 (the document bucket, under " +
	witnessPrefix + "), a directory, or none (default: s3 when --s3-endpoint is set, else <data>/audit-witness)"

func (w *witnessFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&w.target, "audit-witness", "", witnessUsage)
	fs.DurationVar(&w.interval, "audit-witness-interval", time.Minute, "how often serve writes the audit chain's head to the witness (when it changed)")
}

// s3Settings are the object storage settings a witness in S3 uses.
type s3Settings struct {
	endpoint, bucket, prefix, accessKey, secretKey, region string
	insecure                                               bool
}

// resolve returns the witness target with the default applied.
func (w *witnessFlags) resolve(s s3Settings) string {
	switch {
	case w.target != "":
		return w.target
	case s.endpoint != "":
		return "s3"
	}
	return ""
}

// validate reports what is wrong with the witness settings.
func (w *witnessFlags) validate(s s3Settings, p *problems) {
	if w.interval <= 0 {
		p.addf("--audit-witness-interval: must be positive")
	}
	if w.target == "s3" && (s.endpoint == "" || s.bucket == "") {
		p.addf("--audit-witness s3: needs the object storage settings (--s3-endpoint, --s3-bucket, …)")
	}
}

// openWitness opens the witness target names; nil for none. The default
// (target "") is a directory in the data folder.
func openWitness(ctx context.Context, target, data string, s s3Settings) (audit.Witness, error) {
	switch target {
	case "none":
		return nil, nil
	case "s3":
		st, err := s3.Open(ctx, s3.Config{Endpoint: s.endpoint, AccessKey: s.accessKey, SecretKey: s.secretKey,
			Region: s.region, Secure: !s.insecure, Bucket: s.bucket, Prefix: s.prefix})
		if err != nil {
			return nil, fmt.Errorf("audit witness: %w", err)
		}
		return &audit.BlobWitness{Store: st, Prefix: witnessPrefix, Where: "s3://" + s.bucket + "/" + s.prefix + witnessPrefix}, nil
	}
	dir := target
	if dir == "" {
		dir = filepath.Join(data, "audit-witness")
	}
	st, err := fs.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("audit witness: %w", err)
	}
	return &audit.BlobWitness{Store: st, Prefix: "heads/", Where: dir}, nil
}

// witnessCLIFlags are what `pjd audit verify` needs to find the witness:
// the same --audit-witness and object storage settings serve takes (also
// from PJD_S3_… in the environment).
type witnessCLIFlags struct {
	witnessFlags
	s3 s3Settings
}

func defineWitnessCLIFlags(fs *flag.FlagSet) *witnessCLIFlags {
	w := &witnessCLIFlags{}
	fs.StringVar(&w.target, "audit-witness", "", witnessUsage)
	fs.StringVar(&w.s3.endpoint, "s3-endpoint", "", "object storage host[:port] (for an audit witness in S3)")
	fs.StringVar(&w.s3.bucket, "s3-bucket", "", "bucket")
	fs.StringVar(&w.s3.prefix, "s3-prefix", "", "key prefix inside the bucket")
	fs.StringVar(&w.s3.accessKey, "s3-access-key", "", "S3 access key")
	fs.StringVar(&w.s3.secretKey, "s3-secret-key", "", "S3 secret key (prefer PJD_S3_SECRET_KEY)")
	fs.StringVar(&w.s3.region, "s3-region", "", "S3 region")
	fs.BoolVar(&w.s3.insecure, "s3-insecure", false, "plain HTTP to a loopback S3 endpoint")
	return w
}

// open is CLIEnv.Witness: nil, nil for none.
func (w *witnessCLIFlags) open(ctx context.Context, data string) (audit.Witness, error) {
	target := w.resolve(w.s3)
	if target == "s3" && (w.s3.endpoint == "" || w.s3.bucket == "") {
		return nil, fmt.Errorf("--audit-witness s3 needs --s3-endpoint and --s3-bucket")
	}
	return openWitness(ctx, target, data, w.s3)
}
