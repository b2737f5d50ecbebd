/// <reference types="@tarojs/taro" />
declare const APP_SERVER_URL: string;
