package dynamoledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// transaction collects the writes of one Record call.
type transaction struct {
	items []types.TransactWriteItem
}

// put adds a Put of item, guarded by cond when cond is not empty.
func (t *transaction) put(table string, item any, cond string, values map[string]types.AttributeValue) error {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return fmt.Errorf("encode item: %w", err)
	}

	p := &types.Put{TableName: aws.String(table), Item: av}
	if cond != "" {
		p.ConditionExpression = aws.String(cond)
		p.ExpressionAttributeValues = values
	}
	t.items = append(t.items, types.TransactWriteItem{Put: p})

	return nil
}

// delete adds a Delete of one item.
func (t *transaction) delete(table, pk, sk string) {
	t.items = append(t.items, types.TransactWriteItem{Delete: &types.Delete{
		TableName: aws.String(table),
		Key:       map[string]types.AttributeValue{AttrPK: str(pk), AttrSK: str(sk)},
	}})
}

// expire adds an Update that sets the TTL attribute of an existing record item.
func (t *transaction) expire(table, pk, sk string, at int64) {
	t.items = append(t.items, types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(table),
		Key:                       map[string]types.AttributeValue{AttrPK: str(pk), AttrSK: str(sk)},
		UpdateExpression:          aws.String("SET #exp = :exp"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames:  map[string]string{"#exp": AttrExpiresAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":exp": num(at)},
	}})
}

// commit runs the transaction. A failed condition means another writer got there
// first and is reported as errConflict, except on the superseded record, which
// may be gone already: then the transaction is retried without that update.
func (l *Ledger) commit(ctx context.Context, tx *transaction) error {
	for {
		_, err := l.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx.items})
		if err == nil {
			return nil
		}

		var canceled *types.TransactionCanceledException
		if !errors.As(err, &canceled) {
			return fmt.Errorf("write transaction: %w", err)
		}
		failed := -1
		for i, r := range canceled.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				failed = i
				break
			}
		}
		if failed < 0 {
			return fmt.Errorf("write transaction: %w", err)
		}
		if failed < len(tx.items) && tx.items[failed].Update != nil {
			tx.items = append(tx.items[:failed], tx.items[failed+1:]...)
			continue
		}

		return errConflict
	}
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
