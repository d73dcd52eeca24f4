package main

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// newBucket creates the versioned archive bucket: encrypted, private, owner-enforced, TLS only.
// Current versions never expire; noncurrent versions expire after cfg.RetentionDays.
func newBucket(ctx *pulumi.Context, cfg Config) (*s3.BucketV2, error) {
	bucket, err := s3.NewBucketV2(ctx, "archives", &s3.BucketV2Args{
		ForceDestroy: pulumi.Bool(cfg.ForceDestroy),
	})
	if err != nil {
		return nil, err
	}
	child := pulumi.Parent(bucket)

	versioning, err := s3.NewBucketVersioningV2(ctx, "archives", &s3.BucketVersioningV2Args{
		Bucket: bucket.ID(),
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{
			Status: pulumi.String("Enabled"),
		},
	}, child)
	if err != nil {
		return nil, err
	}

	_, err = s3.NewBucketServerSideEncryptionConfigurationV2(ctx, "archives",
		&s3.BucketServerSideEncryptionConfigurationV2Args{
			Bucket: bucket.ID(),
			Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{
				&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
					ApplyServerSideEncryptionByDefault: &s3.
						BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
						SseAlgorithm: pulumi.String("AES256"),
					},
				},
			},
		}, child)
	if err != nil {
		return nil, err
	}

	block, err := s3.NewBucketPublicAccessBlock(ctx, "archives", &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, child)
	if err != nil {
		return nil, err
	}

	_, err = s3.NewBucketOwnershipControls(ctx, "archives", &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule: &s3.BucketOwnershipControlsRuleArgs{
			ObjectOwnership: pulumi.String("BucketOwnerEnforced"),
		},
	}, child)
	if err != nil {
		return nil, err
	}

	// Deny every request that does not use TLS. A Deny may name s3:* safely: it only ever takes rights away.
	tlsOnly := stmt{
		statement: statement{
			Sid:       "DenyInsecureTransport",
			Effect:    "Deny",
			Principal: "*",
			Action:    []string{"s3:*"},
			Condition: map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}},
		},
		Resources: []pulumi.StringInput{bucket.Arn, suffixed(bucket.Arn, "/*")},
	}
	_, err = s3.NewBucketPolicy(ctx, "archives", &s3.BucketPolicyArgs{
		Bucket: bucket.ID(),
		Policy: policyJSON(tlsOnly),
	}, child, pulumi.DependsOn([]pulumi.Resource{block}))
	if err != nil {
		return nil, err
	}

	_, err = s3.NewBucketLifecycleConfigurationV2(ctx, "archives", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{
			&s3.BucketLifecycleConfigurationV2RuleArgs{
				Id:     pulumi.String("expire-noncurrent-versions"),
				Status: pulumi.String("Enabled"),
				Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{},
				NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
					NoncurrentDays: pulumi.Int(cfg.RetentionDays),
				},
			},
			&s3.BucketLifecycleConfigurationV2RuleArgs{
				Id:     pulumi.String("abort-incomplete-uploads"),
				Status: pulumi.String("Enabled"),
				Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{},
				AbortIncompleteMultipartUpload: &s3.
					BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
					DaysAfterInitiation: pulumi.Int(1),
				},
			},
		},
	}, child, pulumi.DependsOn([]pulumi.Resource{versioning}))
	if err != nil {
		return nil, err
	}
	return bucket, nil
}
