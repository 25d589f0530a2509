/** The web workload of a node: desired state, nginx.conf renderer and the nginx driver. */
export { validateWebState, siteHostNames, checkNodeAddress, type WebState, type WebSite, type WebProxy } from './web-state.ts';
export { renderNginxConfig, SUSPENSION_PAGE, SUSPENSION_STATUS, type NginxConfigInput, type NginxPaths } from './nginx-config.ts';
export { NginxDriver, type NginxDriverOptions, type WebApplyResult } from './nginx.driver.ts';
