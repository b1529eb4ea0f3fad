/**
 * An eventual service in an SST v3 app: the resources of its plan, created with
 * SST's own components where one exists and with Pulumi AWS resources where none
 * does, every role as narrow as the plan's statements.
 *
 * Written by `eventual sst add` (eventual-sst); `eventual sst add` again replaces
 * it with the version of the installed eventual-sst. Used from `sst.config.ts`:
 *
 *   const { EventualService } = await import("./infra/eventual");
 *   const orders = new EventualService("Orders", { service: "orders.service", path: "services/orders" });
 *
 * `link: [orders]` gives other resources `Resource.Orders.url`, `.busName` and
 * `.busArn`, and the right to put events on the service's bus.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";

/** The plan format this component renders (`ServicePlan.to_json()`'s "version"). */
const PLAN_VERSION = 2;

/** A permission a plan grants: actions on ARNs (placeholders unresolved). */
interface StatementPlan {
  resource: string;
  actions: string[];
  arns: string[];
}

interface QueuePlan {
  id: string;
  name: string;
  fifo: boolean;
  visibility_timeout_s: number;
  retention_s: number;
  redrive: { dead_letter_queue: string; max_receive_count: number } | null;
  high_throughput: boolean;
  senders: string[];
}

interface EventSourcePlan {
  queue: string;
  batch_size: number;
  batching_window_s: number;
  report_batch_item_failures: boolean;
  maximum_concurrency: number | null;
}

interface FunctionPlan {
  name: string;
  kind: string;
  handler: string;
  physical_name: string;
  memory_mb: number;
  timeout_s: number;
  environment: Record<string, string>;
  event_sources: EventSourcePlan[];
  reserved_concurrency: number | null;
  statements: StatementPlan[];
  log_group: string;
  runtime: string;
  architecture: "arm64" | "x86_64";
}

/** A scheduled workflow's recurring EventBridge Scheduler schedule. */
interface SchedulePlan {
  id: string;
  name: string;
  workflow: string;
  group: string;
  expression: string;
  timezone: string;
  target: string;
  role: string;
  input: string;
  retry: { maximum_event_age_s: number; maximum_retry_attempts: number };
  dead_letter_queue: string;
  flexible_time_window: string;
  state: string;
}

/** The part of `ServicePlan.to_json()` this component reads (see docs/aws.md, "Reading a plan"). */
export interface ServicePlan {
  version: number;
  service: string;
  prefix: string;
  table: {
    partition_key: string;
    sort_key: string;
    indexes: { name: string; partition_key: string; sort_key: string }[];
    ttl_attribute: string;
    billing_mode: string;
    point_in_time_recovery: boolean;
  };
  bucket: {
    enforce_ssl: boolean;
    versioned: boolean;
    expirations: { id: string; prefix: string; days: number }[];
  };
  queues: QueuePlan[];
  event_bus: { id: string; name: string; existing: boolean };
  rules: {
    id: string;
    name: string;
    subscription: string;
    pattern: Record<string, unknown>;
    target: string;
  }[];
  schedule_group: { id: string; name: string };
  schedules: SchedulePlan[];
  roles: { id: string; service_principal: string; statements: StatementPlan[] }[];
  http_api: {
    name: string;
    routes: { method: string; path: string; function: string; authorization: string }[];
  };
  log_groups: { id: string; name: string; retention_days: number }[];
  functions: FunctionPlan[];
}

export interface EventualServiceArgs {
  /** The service module, as `[tool.eventual] service` names it (e.g. "orders.service"). */
  service: string;
  /** The service's project folder (where its pyproject.toml is), from the app's root. */
  path: string;
  /**
   * The folder holding the Lambda code: the service's code and eventual-aws with its
   * dependencies, installed for the functions' platform. Default: what
   * `eventual sst bundle` builds (cached in `<path>/.eventual/bundles`, rebuilt on change).
   */
  bundle?: string;
  /** Start of the physical AWS names (default: `<app>-<stage>`). */
  prefix?: string;
  /** Publish and subscribe on this existing EventBridge bus instead of the service's own. */
  eventBus?: string;
  /**
   * The eventual command, run in `path` with `plan --json ...` (and `sst bundle ...`
   * unless `bundle` is given) appended.
   * Default: `["uv", "run", "eventual"]` when `path` has a uv.lock, else `["eventual"]`.
   */
  command?: string[];
  /** A plan already written (`eventual plan --json > plan.json`), read instead of running the command. */
  plan?: string;
  /** Change what SST creates, as SST's own components allow. */
  transform?: {
    /** Every function's arguments, before it is created (name is the plan's function name). */
    function?: (args: sst.aws.FunctionArgs, name: string) => void;
  };
}

/** The eventual command line, run in the service's folder. */
function eventual(args: EventualServiceArgs, words: string[]): string {
  const command =
    args.command ??
    (existsSync(path.join(args.path, "uv.lock")) ? ["uv", "run", "eventual"] : ["eventual"]);
  try {
    return execFileSync(command[0], [...command.slice(1), ...words], {
      cwd: args.path,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error: any) {
    throw new Error(
      `EventualService: \`${[...command, ...words].join(" ")}\` failed in ${args.path}: ` +
        `${String(error.stderr || error.message).trim()}`,
    );
  }
}

/** The options both `eventual plan` and `eventual sst bundle` take, so that they agree. */
function planOptions(args: EventualServiceArgs, prefix: string): string[] {
  const options = ["--service", args.service, "--prefix", prefix];
  if (args.eventBus !== undefined) options.push("--event-bus", args.eventBus);
  return options;
}

/** Reads the plan: the file given, or what `eventual plan --json` prints in the service's folder. */
function readPlan(args: EventualServiceArgs, prefix: string): ServicePlan {
  const text =
    args.plan !== undefined
      ? readFileSync(args.plan, "utf8")
      : eventual(args, ["plan", "--json", ...planOptions(args, prefix)]);
  const plan: ServicePlan = JSON.parse(text);
  if (plan.version !== PLAN_VERSION) {
    throw new Error(
      `EventualService: plan version ${plan.version} is not ${PLAN_VERSION}; ` +
        "run `eventual sst add` to update this component to the installed eventual-sst",
    );
  }
  return plan;
}

/** The Lambda code folder: the one given, or what `eventual sst bundle` builds (cached). */
function codeFolder(args: EventualServiceArgs, prefix: string): string {
  if (args.bundle !== undefined) return args.bundle;
  const printed = eventual(args, ["sst", "bundle", ...planOptions(args, prefix)]);
  return path.resolve(args.path, printed.trim().split("\n").at(-1)!);
}

/** A plan's `${<id>.<attribute>}` placeholders, filled with what was created. */
class References {
  private readonly values = new Map<string, $util.Input<string>>();

  set(key: string, value: $util.Input<string>) {
    this.values.set(key, value);
  }

  resolve(text: string): $util.Output<string> {
    const parts: $util.Input<string>[] = [];
    let last = 0;
    for (const match of text.matchAll(/\$\{([^}]+)\}/g)) {
      const value = this.values.get(match[1]);
      if (value === undefined) {
        throw new Error(`EventualService: the plan refers to ${match[0]}, which nothing created`);
      }
      parts.push(text.slice(last, match.index), value);
      last = match.index! + match[0].length;
    }
    parts.push(text.slice(last));
    return $util.all(parts).apply((resolved) => resolved.join(""));
  }

  policy(statements: StatementPlan[]): $util.Output<string> {
    return $util.jsonStringify({
      Version: "2012-10-17",
      Statement: statements.map((statement) => ({
        Effect: "Allow",
        Action: statement.actions,
        Resource: statement.arns.map((arn) => this.resolve(arn)),
      })),
    });
  }
}

export class EventualService extends $util.ComponentResource {
  /** The plan rendered, as `eventual plan --json` printed it (placeholders unresolved). */
  public readonly plan: ServicePlan;
  public readonly table: sst.aws.Dynamo;
  public readonly bucket: sst.aws.Bucket;
  /** Every queue, by plan id (`queue.workflow`, `queue.workflow-dlq`, ...). */
  public readonly queues: Record<string, sst.aws.Queue> = {};
  public readonly bus: sst.aws.Bus | undefined;
  public readonly busName: $util.Output<string>;
  public readonly busArn: $util.Output<string>;
  /** Each subscription's rule, by plan id (`rule.<subscription>`). */
  public readonly rules: Record<string, aws.cloudwatch.EventRule> = {};
  public readonly scheduleGroup: aws.scheduler.ScheduleGroup;
  public readonly schedulerRole: aws.iam.Role;
  /** Each scheduled workflow's recurring schedule, by plan id (`schedule.<workflow>`). */
  public readonly schedules: Record<string, aws.scheduler.Schedule> = {};
  /** Every function, by plan name (`orchestrator`, `task-<task>`, ...). */
  public readonly functions: Record<string, sst.aws.Function> = {};
  /** Each function's role, by plan name: only the plan's statements. */
  public readonly roles: Record<string, aws.iam.Role> = {};
  /** Each function's log group, by plan id (`log_group.<function>`). */
  public readonly logGroups: Record<string, aws.cloudwatch.LogGroup> = {};
  public readonly api: sst.aws.ApiGatewayV2;
  /** The service's HTTP API. */
  public readonly url: $util.Output<string>;

  constructor(name: string, args: EventualServiceArgs, opts?: $util.ComponentResourceOptions) {
    super("eventual:sst:Service", name, args, opts);
    const parent = this;
    const child = (id: string) => `${name}${logical(id)}`;
    const prefix = args.prefix ?? `${$app.name}-${$app.stage}`;
    const plan = readPlan(args, prefix);
    this.plan = plan;
    const refs = new References();
    const region = aws.getRegionOutput({}, { parent }).name;
    const account = aws.getCallerIdentityOutput({}, { parent }).accountId;
    const partition = aws.getPartitionOutput({}, { parent }).partition;
    refs.set("aws.region", region);
    refs.set("aws.account", account);
    refs.set("aws.partition", partition);
    for (const fn of plan.functions) {
      // Written from the plan's name, not taken from the function: every function's
      // configuration holds the forwarder's ARN, the forwarder's own included.
      refs.set(`function.${fn.name}.name`, fn.physical_name);
      refs.set(
        `function.${fn.name}.arn`,
        $util.interpolate`arn:${partition}:lambda:${region}:${account}:function:${fn.physical_name}`,
      );
    }

    const table = plan.table;
    const fields: Record<string, "string"> = { [table.partition_key]: "string", [table.sort_key]: "string" };
    const globalIndexes: Record<string, { hashKey: string; rangeKey: string }> = {};
    for (const index of table.indexes) {
      fields[index.partition_key] = "string";
      fields[index.sort_key] = "string";
      globalIndexes[index.name] = { hashKey: index.partition_key, rangeKey: index.sort_key };
    }
    this.table = new sst.aws.Dynamo(
      child("Table"),
      {
        fields,
        primaryIndex: { hashKey: table.partition_key, rangeKey: table.sort_key },
        globalIndexes,
        ttl: table.ttl_attribute,
        transform: {
          table: (tableArgs) => {
            tableArgs.billingMode = table.billing_mode;
            tableArgs.pointInTimeRecovery = { enabled: table.point_in_time_recovery };
          },
        },
      },
      { parent },
    );
    refs.set("table.name", this.table.name);
    refs.set("table.arn", this.table.arn);

    this.bucket = new sst.aws.Bucket(
      child("Bucket"),
      {
        enforceHttps: plan.bucket.enforce_ssl,
        versioning: plan.bucket.versioned,
        // What the plan lets S3 delete on its own (the remainders of split steps).
        lifecycle: plan.bucket.expirations.map((expiration) => ({
          id: expiration.id,
          prefix: expiration.prefix,
          expiresIn: `${expiration.days} days` as const,
        })),
      },
      { parent },
    );
    refs.set("bucket.name", this.bucket.name);
    refs.set("bucket.arn", this.bucket.arn);

    // Dead-letter queues come before the queues that redrive to them.
    const queuePlans = [...plan.queues].sort(
      (a, b) => Number(a.redrive !== null) - Number(b.redrive !== null),
    );
    for (const queue of queuePlans) {
      const created = new sst.aws.Queue(
        child(queue.id),
        {
          fifo: queue.fifo,
          visibilityTimeout: `${queue.visibility_timeout_s} seconds`,
          dlq: queue.redrive
            ? {
                queue: this.queues[queue.redrive.dead_letter_queue].arn,
                retry: queue.redrive.max_receive_count,
              }
            : undefined,
          transform: {
            queue: (queueArgs) => {
              queueArgs.name = queue.name;
              queueArgs.messageRetentionSeconds = queue.retention_s;
              queueArgs.sqsManagedSseEnabled = true;
              if (queue.high_throughput) {
                queueArgs.deduplicationScope = "messageGroup";
                queueArgs.fifoThroughputLimit = "perMessageGroupId";
              }
            },
          },
        },
        { parent },
      );
      this.queues[queue.id] = created;
      refs.set(`${queue.id}.name`, queue.name);
      refs.set(`${queue.id}.arn`, created.arn);
      refs.set(`${queue.id}.url`, created.url);
    }

    if (plan.event_bus.existing) {
      this.busName = $util.output(plan.event_bus.name);
      this.busArn = $util.interpolate`arn:${partition}:events:${region}:${account}:event-bus/${plan.event_bus.name}`;
    } else {
      this.bus = new sst.aws.Bus(
        child("Bus"),
        { transform: { bus: (busArgs) => void (busArgs.name = plan.event_bus.name) } },
        { parent },
      );
      this.busName = this.bus.name;
      this.busArn = this.bus.arn;
    }
    refs.set("bus.name", this.busName);
    refs.set("bus.arn", this.busArn);

    // A raw rule rather than `Bus.subscribeQueue`: SST's queue subscriber lets SNS,
    // S3 and EventBridge send to the queue from anywhere, the plan only this rule.
    for (const rule of plan.rules) {
      const queue = this.queues[rule.target];
      const created = new aws.cloudwatch.EventRule(
        child(rule.id),
        {
          name: rule.name,
          description: `events for subscription '${rule.subscription}'`,
          eventBusName: this.busName,
          eventPattern: JSON.stringify(rule.pattern),
        },
        { parent },
      );
      new aws.cloudwatch.EventTarget(
        `${child(rule.id)}Target`,
        { rule: created.name, eventBusName: this.busName, arn: queue.arn, targetId: "queue" },
        { parent },
      );
      this.rules[rule.id] = created;
      refs.set(`${rule.id}.name`, rule.name);
      refs.set(`${rule.id}.arn`, created.arn);
    }
    for (const queue of plan.queues) {
      if (queue.senders.length === 0) continue;
      const created = this.queues[queue.id];
      new aws.sqs.QueuePolicy(
        `${child(queue.id)}Policy`,
        {
          queueUrl: created.url,
          policy: $util.jsonStringify({
            Version: "2012-10-17",
            Statement: queue.senders.map((sender) => ({
              Effect: "Allow",
              Principal: { Service: "events.amazonaws.com" },
              Action: "sqs:SendMessage",
              Resource: created.arn,
              Condition: { ArnEquals: { "aws:SourceArn": this.rules[sender].arn } },
            })),
          }),
        },
        { parent },
      );
    }

    this.scheduleGroup = new aws.scheduler.ScheduleGroup(
      child("ScheduleGroup"),
      { name: plan.schedule_group.name },
      { parent },
    );
    refs.set("schedule_group.name", this.scheduleGroup.name);
    refs.set("schedule_group.arn", this.scheduleGroup.arn);
    const [schedulerPlan] = plan.roles;
    this.schedulerRole = new aws.iam.Role(
      child(schedulerPlan.id),
      {
        description: `schedules of ${plan.service} run as this role`,
        // Inline, so that the role has its rights as soon as it exists.
        inlinePolicies: [{ name: "plan", policy: refs.policy(schedulerPlan.statements) }],
        assumeRolePolicy: $util.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: schedulerPlan.service_principal },
              Action: "sts:AssumeRole",
              Condition: { StringEquals: { "aws:SourceAccount": account } },
            },
          ],
        }),
      },
      { parent },
    );
    refs.set(`${schedulerPlan.id}.name`, this.schedulerRole.name);
    refs.set(`${schedulerPlan.id}.arn`, this.schedulerRole.arn);

    for (const group of plan.log_groups) {
      const created = new aws.cloudwatch.LogGroup(
        child(group.id),
        { name: group.name, retentionInDays: group.retention_days },
        { parent },
      );
      this.logGroups[group.id] = created;
      refs.set(`${group.id}.name`, created.name);
      // The plan's log group ARN covers its streams.
      refs.set(`${group.id}.arn`, $util.interpolate`${created.arn}:*`);
    }

    this.api = new sst.aws.ApiGatewayV2(
      child("Api"),
      { transform: { api: (apiArgs) => void (apiArgs.name = plan.http_api.name) } },
      { parent },
    );
    this.url = this.api.url;
    refs.set("api.id", this.api.nodes.api.id);
    refs.set("api.url", this.api.url);

    const bundle = codeFolder(args, prefix);
    for (const fn of plan.functions) {
      const id = child(`function.${fn.name}`);
      const role = new aws.iam.Role(
        child(`role.${fn.name}`),
        {
          description: `function ${fn.physical_name}: only what the plan allows it`,
          // Inline, so that an event source mapping created with the function finds
          // the rights to read its queue already there.
          inlinePolicies: [{ name: "plan", policy: refs.policy(fn.statements) }],
          assumeRolePolicy: $util.jsonStringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { Service: "lambda.amazonaws.com" },
                Action: "sts:AssumeRole",
              },
            ],
          }),
        },
        { parent },
      );
      this.roles[fn.name] = role;
      const environment: Record<string, $util.Input<string>> = {};
      for (const [key, value] of Object.entries(fn.environment)) {
        environment[key] = refs.resolve(value);
      }
      const functionArgs: sst.aws.FunctionArgs = {
        name: fn.physical_name,
        description: `eventual ${plan.service}: ${fn.kind} ${fn.name}`,
        // The plan names a Python runtime Lambda offers (python3.11 and later).
        runtime: fn.runtime as sst.aws.FunctionArgs["runtime"],
        architecture: fn.architecture,
        handler: fn.handler,
        bundle,
        memory: `${fn.memory_mb} MB`,
        timeout: `${fn.timeout_s} seconds`,
        environment,
        role: role.arn,
        logging: { logGroup: this.logGroups[fn.log_group].name, format: "json" },
        concurrency:
          fn.reserved_concurrency === null ? undefined : { reserved: fn.reserved_concurrency },
      };
      args.transform?.function?.(functionArgs, fn.name);
      const created = new sst.aws.Function(id, functionArgs, { parent });
      this.functions[fn.name] = created;
      for (const source of fn.event_sources) {
        this.queues[source.queue].subscribe(created.arn, {
          batch: {
            size: source.batch_size,
            window: `${source.batching_window_s} seconds`,
            partialResponses: source.report_batch_item_failures,
          },
          transform: {
            eventSourceMapping: (mappingArgs) => {
              if (source.maximum_concurrency !== null) {
                mappingArgs.scalingConfig = { maximumConcurrency: source.maximum_concurrency };
              }
            },
          },
        });
      }
    }

    for (const schedule of plan.schedules) {
      this.schedules[schedule.id] = new aws.scheduler.Schedule(
        child(schedule.id),
        {
          name: schedule.name,
          groupName: refs.resolve(`\${${schedule.group}.name}`),
          description: `runs workflow '${schedule.workflow}'`,
          scheduleExpression: schedule.expression,
          scheduleExpressionTimezone: schedule.timezone,
          flexibleTimeWindow: { mode: schedule.flexible_time_window },
          state: schedule.state,
          target: {
            arn: refs.resolve(`\${${schedule.target}.arn}`),
            roleArn: refs.resolve(`\${${schedule.role}.arn}`),
            input: schedule.input,
            retryPolicy: {
              maximumEventAgeInSeconds: schedule.retry.maximum_event_age_s,
              maximumRetryAttempts: schedule.retry.maximum_retry_attempts,
            },
            deadLetterConfig: { arn: refs.resolve(`\${${schedule.dead_letter_queue}.arn}`) },
          },
        },
        { parent },
      );
    }

    for (const route of plan.http_api.routes) {
      this.api.route(`${route.method} ${route.path}`, this.functions[route.function].arn, {
        auth: route.authorization === "iam" ? { iam: true } : undefined,
      });
    }

    this.registerOutputs({ url: this.url, busName: this.busName, busArn: this.busArn });
  }

  /** What `link: [service]` gives: the URL and the bus, and the right to publish on it. */
  public getSSTLink() {
    return {
      properties: { url: this.url, busName: this.busName, busArn: this.busArn },
      include: [sst.aws.permission({ actions: ["events:PutEvents"], resources: [this.busArn] })],
    };
  }
}

/** A Pulumi name from a plan id: `queue.task.reserve_stock-dlq` -> `QueueTaskReserveStockDlq`. */
function logical(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join("");
}
