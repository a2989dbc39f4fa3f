using EventBus.Server.Hosting;

return await EventBusApp.RunAsync(args);
