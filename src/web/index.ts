/** The web workload of a node: desired state, nginx.conf renderer and the nginx driver. */
export { validateWebState, siteHostNames, type WebState, type WebSite, type WebProxy } from '../protocol/web-state.ts';
export { checkNodeAddress } from '../protocol/formats.ts';
export { renderNginxConfig, SUSPENSION_PAGE, SUSPENSION_STATUS, type NginxConfigInput, type NginxPaths } from './nginx-config.ts';
export { NginxDriver, type NginxDriverOptions, type WebApplyResult } from './nginx.driver.ts';
