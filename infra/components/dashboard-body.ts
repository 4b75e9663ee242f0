import * as pulumi from "@pulumi/pulumi";
import type { MonitoringArgs } from "./monitoring.ts";

/** The monitoring inputs the dashboard draws, plus the region its widgets query. */
export type DashboardInput = Omit<MonitoringArgs, "context" | "keyArn" | "targetGroupArnSuffix"> & {
  region: string;
};

type Metric = (string | { stat: string })[];

function widget(title: string, metrics: Metric[], x: number, y: number, region: string) {
  return {
    type: "metric",
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region, metrics, view: "timeSeries", period: 60 },
  };
}

/** The pipeline on one screen, in data-flow order (OBS-3): ingest, stream, processor, stores. */
export function dashboardBody(input: DashboardInput): pulumi.Output<string> {
  return pulumi
    .all([
      input.streamName,
      input.functionName,
      input.deadLetterQueueName,
      input.loadBalancerArnSuffix,
    ])
    .apply(([stream, fn, queue, alb]) => {
      const { region } = input;
      const database =
        input.databaseClusterId === undefined
          ? input.databaseInstanceIds.map((id) => [
              "AWS/RDS",
              "CPUUtilization",
              "DBInstanceIdentifier",
              id,
            ])
          : [["AWS/RDS", "CPUUtilization", "DBClusterIdentifier", input.databaseClusterId]];
      const widgets = [
        widget(
          "API requests and 5xx",
          [
            ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", alb, { stat: "Sum" }],
            [
              "AWS/ApplicationELB",
              "HTTPCode_Target_5XX_Count",
              "LoadBalancer",
              alb,
              { stat: "Sum" },
            ],
          ],
          0,
          0,
          region,
        ),
        widget(
          "Stream in and iterator age",
          [
            ["AWS/Kinesis", "IncomingRecords", "StreamName", stream, { stat: "Sum" }],
            [
              "AWS/Kinesis",
              "GetRecords.IteratorAgeMilliseconds",
              "StreamName",
              stream,
              { stat: "Maximum" },
            ],
          ],
          12,
          0,
          region,
        ),
        widget(
          "Processor",
          [
            ["AWS/Lambda", "Invocations", "FunctionName", fn, { stat: "Sum" }],
            ["AWS/Lambda", "Errors", "FunctionName", fn, { stat: "Sum" }],
            ["AWS/Lambda", "Duration", "FunctionName", fn, { stat: "p99" }],
            [
              "AWS/SQS",
              "ApproximateNumberOfMessagesVisible",
              "QueueName",
              queue,
              { stat: "Maximum" },
            ],
          ],
          0,
          6,
          region,
        ),
        widget(
          "History cache",
          input.cacheClusterIds.map((id) => [
            "AWS/ElastiCache",
            "DatabaseMemoryUsagePercentage",
            "CacheClusterId",
            id,
          ]),
          12,
          6,
          region,
        ),
        widget("Ledger database", database, 0, 12, region),
      ];
      return JSON.stringify({ widgets });
    });
}
