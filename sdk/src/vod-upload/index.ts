// SCAFFOLD: filled in by the VOD upload issue. `import VODUpload from 'mp-media-sdk'` must give the class.
export default class VODUpload {}
