"""Reads a changelog written through a schema registry with confluent-kafka's AvroDeserializer, a consumer we
did not write, and prints each event's `after` row (or `before` for deletes) as one JSON line; a tombstone (a
Debezium topic's null value after a delete) prints as op "tombstone" with the decoded key as its row.

    python registry-consumer.py BROKERS TOPIC REGISTRY_URL COUNT

Stops after COUNT records (or 60 s without a record). Runs in the venv stack/install.sh makes.
"""
import json
import sys

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

brokers, topic, registry_url, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
deserialize = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
consumer = Consumer(
    {
        "bootstrap.servers": brokers,
        "group.id": f"python-reader-{topic}",
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
    }
)
consumer.subscribe([topic])
seen = 0
try:
    while seen < count:
        message = consumer.poll(60)
        if message is None:
            break
        if message.error():
            raise SystemExit(str(message.error()))
        seen += 1
        if message.value() is None:
            key = deserialize(message.key(), SerializationContext(topic, MessageField.KEY))
            print(json.dumps({"op": "tombstone", "row": key}, default=str), flush=True)
            continue
        event = deserialize(message.value(), SerializationContext(topic, MessageField.VALUE))
        row = event["after"] if event["after"] is not None else event["before"]
        print(json.dumps({"op": event["op"], "row": row}, default=str), flush=True)
finally:
    consumer.close()
