// SCAFFOLD: the page is built by its issue; this placeholder keeps the app compiling.
Component({
  data: { message: 'coming soon' },
  methods: {
    onLoad() {},
  },
});
