/// <reference path="./.sst/platform/config.d.ts" />
// An SST v3 app with the orders service mixed in (see README.md).
export default $config({
  app(input) {
    return {
      name: "orders-sst",
      removal: input?.stage === "production" ? "retain" : "remove",
      home: "aws",
    };
  },
  async run() {
    // The two lines `eventual sst add --path ../orders` prints:
    const { EventualService } = await import("./infra/eventual");
    const orders = new EventualService("Orders", { service: "orders.service", path: "../orders" });

    // Any resource of the app can link the service: its code reads
    // Resource.Orders.url and may put events on Resource.Orders.busName.
    const web = new sst.aws.Function("Web", {
      handler: "web/index.handler",
      runtime: "python3.11",
      url: true,
      link: [orders],
    });
    return { orders: orders.url, web: web.url };
  },
});
