#!/bin/bash
# As bin/kafka-run-class.sh of the Kafka distribution: a main class of Apache Kafka with its jars.
exec java ${KAFKA_HEAP_OPTS:--Xmx256M} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20} \
  ${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.yaml} ${KAFKA_OPTS:-} \
  -Dkafka.logs.dir=/opt/kafka/logs -cp "${CLASSPATH:+$CLASSPATH:}/opt/kafka/libs/*" "$@"
