export { watchSpotNotice, type SpotNotice, type SpotNoticeWatch } from "./spot-notice.js";
