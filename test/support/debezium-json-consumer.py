"""Reads a per-table topic in Debezium's JSON format (schemas embedded) with a plain confluent-kafka consumer, as
a Debezium subscriber written in Python would, folds it (a delete or a tombstone removes the key, any other
event sets the key's row to `after`) and prints the folded table as one JSON object: key text -> row.

    python debezium-json-consumer.py BROKERS TOPIC COUNT

Stops after COUNT records, tombstones included (or 60 s without a record). Runs in the venv stack/install.sh
makes.
"""
import json
import sys

from confluent_kafka import Consumer

brokers, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
consumer = Consumer(
    {
        "bootstrap.servers": brokers,
        "group.id": f"python-debezium-reader-{topic}",
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
    }
)
consumer.subscribe([topic])
table = {}
seen = 0
try:
    while seen < count:
        message = consumer.poll(60)
        if message is None:
            break
        if message.error():
            raise SystemExit(str(message.error()))
        seen += 1
        key = json.dumps(json.loads(message.key())["payload"], sort_keys=True)
        if message.value() is None:
            table.pop(key, None)
            continue
        event = json.loads(message.value())["payload"]
        if event["op"] == "d":
            table.pop(key, None)
        else:
            table[key] = event["after"]
finally:
    consumer.close()
print(json.dumps({"seen": seen, "table": table}))
