/**
 * Renders an SST app's EventualService under Pulumi's mocks, offline, and writes
 * every resource registered (type, name, inputs), every call to SST's local server
 * and the service's link to $EVENTUAL_SST_OUT for the Python tests to check; with
 * $EVENTUAL_SST_SCHEDULED_OPTIONS, a second service (of scheduled workflows) too.
 *
 * Copied into `<app>/.sst/platform/eventual-test/` by the tests, so that
 * `@pulumi/*` and SST's components resolve from the platform SST installed.
 * `sst.aws.Function` asks SST's local server (`$SST_SERVER/rpc`) to build the
 * code and for the region's bootstrap bucket: a stand-in server answers both.
 *
 * With $EVENTUAL_SST_CONFIG set, it runs that app's `sst.config.ts` instead, as
 * `sst deploy` does: `$config(...)` returns the config, whose `run()` is awaited
 * in the app's folder (vitest's `forks` pool, so the worker may change folder),
 * and writes what it registered and the outputs `run()` returned.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

const app = process.env.EVENTUAL_SST_APP!;
const out = process.env.EVENTUAL_SST_OUT!;
const config = process.env.EVENTUAL_SST_CONFIG;
const ACCOUNT = "123456789012";
const REGION = "us-east-1";

type Registered = { type: string; name: string; inputs: Record<string, any> };
const resources: Registered[] = [];
const rpcCalls: { method: string; params: any }[] = [];

const g = globalThis as any;
g.$app = { name: "shop", stage: "test", removal: "remove", protect: false, providers: {} };
g.$dev = false;
g.$cli = {
  command: "deploy",
  paths: {
    root: app,
    work: path.join(app, ".sst"),
    platform: path.join(app, ".sst", "platform"),
  },
  state: { version: {} },
};
g.$util = pulumi;
g.$output = pulumi.output;
g.$interpolate = pulumi.interpolate;
g.$jsonStringify = pulumi.jsonStringify;
g.$jsonParse = pulumi.jsonParse;
g.$resolve = pulumi.all;
g.$concat = pulumi.concat;
g.$secrets = {};
g.aws = aws;
g.$config = (input: any) => input;

function arn(type: string, name: string): string {
  const service = type.split(":")[1].split("/")[0];
  return `arn:aws:${service}:${REGION}:${ACCOUNT}:${name}`;
}

pulumi.runtime.setMocks(
  {
    newResource(args) {
      resources.push({ type: args.type, name: args.name, inputs: args.inputs });
      const name = args.inputs.name ?? `${args.name}-physical`;
      const state: Record<string, any> = { ...args.inputs, name, arn: arn(args.type, name) };
      if (args.type === "aws:sqs/queue:Queue") {
        state.url = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;
        state.arn = `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
      }
      if (args.type === "aws:apigatewayv2/api:Api") {
        state.apiEndpoint = `https://${args.name}.execute-api.${REGION}.amazonaws.com`;
        state.executionArn = `arn:aws:execute-api:${REGION}:${ACCOUNT}:${args.name}`;
      }
      if (args.type === "aws:cloudwatch/eventBus:EventBus") {
        state.arn = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${name}`;
      }
      if (args.type === "aws:iam/role:Role") {
        state.arn = `arn:aws:iam::${ACCOUNT}:role/${name}`;
      }
      return { id: args.id ?? `${name}-id`, state };
    },
    call(args) {
      switch (args.token) {
        case "aws:index/getRegion:getRegion":
          return { name: REGION, region: REGION, id: REGION };
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, userId: "u" };
        case "aws:index/getPartition:getPartition":
          return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
        case "aws:iam/getPolicyDocument:getPolicyDocument":
          return {
            json: JSON.stringify({ Statement: args.inputs.statements ?? [] }),
            statements: args.inputs.statements,
          };
        default:
          return args.inputs;
      }
    },
  },
  "shop",
  "test",
  false,
);

let server: http.Server;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const { method, params } = JSON.parse(body);
      rpcCalls.push({ method, params: params[0] });
      let result: any;
      if (method === "Runtime.Build") {
        const input = params[0];
        result = { handler: input.handler, out: input.bundle, errors: [], sourcemaps: [] };
      } else if (method === "Provider.Aws.Bootstrap") {
        result = { asset: "sst-asset-bucket", assetEcrRegistryId: ACCOUNT, assetEcrUrl: "", state: "" };
      } else {
        response.end(JSON.stringify({ error: `rpc: can't find method ${method}` }));
        return;
      }
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ result, error: null }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  process.env.SST_SERVER = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  g.sst = await import("../src/components/index");
});

afterAll(() => server.close());

/** Waits until no resource has been registered for a while: outputs resolve asynchronously. */
async function settled(): Promise<void> {
  let seen = -1;
  while (seen !== resources.length) {
    seen = resources.length;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function unwrap(value: pulumi.Input<any>): Promise<any> {
  return new Promise((resolve) => pulumi.output(value).apply(resolve));
}

it.skipIf(config)("renders the app's EventualService", async () => {
  const { EventualService } = await import(path.join(app, "infra", "eventual.ts"));
  const options = JSON.parse(process.env.EVENTUAL_SST_OPTIONS!);
  const service = new EventualService("Orders", options);
  // A resource of the app's own that links the service, as `link: [orders]` does.
  const webCode = fs.mkdtempSync(path.join(path.dirname(out), "web-"));
  fs.writeFileSync(path.join(webCode, "web.py"), "def handler(event, context):\n    return {}\n");
  const web = new g.sst.aws.Function("Web", {
    handler: "web.handler",
    runtime: "python3.11",
    bundle: webCode,
    link: [service],
  });
  const link = service.getSSTLink();
  const linked = {
    properties: await unwrap(link.properties),
    include: await unwrap(link.include),
  };
  await unwrap(web.arn);
  // Zipping a real bundle takes a while: wait for every function before settling.
  for (const fn of Object.values(service.functions) as any[]) {
    await unwrap(fn.nodes.function);
  }
  await settled();
  // A second service, of scheduled workflows, from a plan file: its resources are kept
  // apart so that the checks of the first see only its own.
  const ordersResources = resources.splice(0);
  const ordersCalls = rpcCalls.splice(0);
  const scheduled = process.env.EVENTUAL_SST_SCHEDULED_OPTIONS;
  if (scheduled) {
    const reports = new EventualService("Reports", JSON.parse(scheduled));
    for (const fn of Object.values(reports.functions) as any[]) {
      await unwrap(fn.nodes.function);
    }
    await settled();
  }
  fs.writeFileSync(
    out,
    JSON.stringify(
      { resources: ordersResources, scheduled: resources, rpcCalls: ordersCalls, link: linked },
      null,
      2,
    ),
  );
  expect(ordersResources.length).toBeGreaterThan(0);
}, 120_000);

it.runIf(config)("runs the app's sst.config.ts", async () => {
  process.chdir(path.dirname(config!));
  const app = (await import(config!)).default;
  const settings = app.app({ stage: "test" });
  expect(settings.home).toBe("aws");
  g.$app = { ...g.$app, name: settings.name, removal: settings.removal };
  const outputs = await app.run();
  const resolved: Record<string, any> = {};
  for (const [name, value] of Object.entries(outputs ?? {})) {
    resolved[name] = await unwrap(value as pulumi.Input<any>);
  }
  await settled();
  fs.writeFileSync(out, JSON.stringify({ resources, rpcCalls, outputs: resolved }, null, 2));
  expect(resources.length).toBeGreaterThan(0);
}, 120_000);
