package main

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigateway"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// pushToCloudWatchPolicy is the AWS managed policy API Gateway documents for its account-wide logging role.
const pushToCloudWatchPolicy = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"

// newAccountLogging sets the region's API Gateway CloudWatch role, which access logging needs.
// It is an account-wide setting shared with every other API in the region, so it is made only when
// manageApiGatewayAccount is true; its role serves all those APIs, so it cannot be scoped to this stack.
func newAccountLogging(ctx *pulumi.Context) (*apigateway.Account, error) {
	role, err := iam.NewRole(ctx, "apigateway-cloudwatch", &iam.RoleArgs{
		Description:      pulumi.String("Lets API Gateway write execution and access logs in this region"),
		AssumeRolePolicy: assumeRolePolicy("apigateway.amazonaws.com"),
	})
	if err != nil {
		return nil, err
	}
	attach, err := iam.NewRolePolicyAttachment(ctx, "apigateway-cloudwatch", &iam.RolePolicyAttachmentArgs{
		Role:      role.Name,
		PolicyArn: pulumi.String(pushToCloudWatchPolicy),
	}, pulumi.Parent(role))
	if err != nil {
		return nil, err
	}
	return apigateway.NewAccount(ctx, "apigateway", &apigateway.AccountArgs{
		CloudwatchRoleArn: role.Arn,
		//lint:ignore SA1019 v6 has no other way to clear the account's role when the stack is destroyed
		ResetOnDelete: pulumi.Bool(true),
	}, pulumi.DependsOn([]pulumi.Resource{attach}))
}
